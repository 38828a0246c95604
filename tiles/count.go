package tiles

// countFeatures reads an MVT (a protobuf Tile: repeated Layer layers = 3; Layer has
// string name = 1 and repeated Feature features = 2) and counts each layer's features without
// decoding them. A malformed tile counts what was read before the fault.
func countFeatures(b []byte) map[string]int {
	out := map[string]int{}
	for len(b) > 0 {
		field, wire, n := tag(b)
		if n == 0 {
			return out
		}
		b = b[n:]
		if wire != 2 {
			if b = skip(b, wire); b == nil {
				return out
			}
			continue
		}
		size, n := varint(b)
		if n == 0 || uint64(len(b)-n) < size {
			return out
		}
		body := b[n : n+int(size)]
		b = b[n+int(size):]
		if field == 3 {
			name, features := layerCount(body)
			out[name] += features
		}
	}
	return out
}

func layerCount(b []byte) (name string, features int) {
	for len(b) > 0 {
		field, wire, n := tag(b)
		if n == 0 {
			return
		}
		b = b[n:]
		if wire != 2 {
			if b = skip(b, wire); b == nil {
				return
			}
			continue
		}
		size, n := varint(b)
		if n == 0 || uint64(len(b)-n) < size {
			return
		}
		switch field {
		case 1:
			name = string(b[n : n+int(size)])
		case 2:
			features++
		}
		b = b[n+int(size):]
	}
	return
}

func tag(b []byte) (field uint64, wire int, n int) {
	v, n := varint(b)
	return v >> 3, int(v & 7), n
}

// varint decodes a protobuf varint; n is 0 when b does not start with one.
func varint(b []byte) (v uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// skip passes over a value of a wire type other than length-delimited; nil when malformed.
func skip(b []byte, wire int) []byte {
	switch wire {
	case 0:
		if _, n := varint(b); n > 0 {
			return b[n:]
		}
	case 1:
		if len(b) >= 8 {
			return b[8:]
		}
	case 5:
		if len(b) >= 4 {
			return b[4:]
		}
	}
	return nil
}
