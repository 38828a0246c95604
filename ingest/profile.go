package ingest

import (
	"bytes"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// Kinds of value seen for a property, as bits.
const (
	seenInt uint8 = 1 << iota
	seenFloat
	seenBool
	seenDate
	seenDatetime
	seenString
	seenObject
)

// realDay says whether year, month and day name a day of the calendar: 2020-02-29 does,
// 2020-02-31 and year 0 do not.
func realDay(y, m, d int) bool {
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// digits reads the decimal number of between min and max digits at the start of s.
func digits(s []byte, min, max int) (n, size int) {
	for size < len(s) && size < max && s[size] >= '0' && s[size] <= '9' {
		n = n*10 + int(s[size]-'0')
		size++
	}
	if size < min {
		return 0, 0
	}
	return n, size
}

// datePrefix reads a date at the start of s: ISO 2024-03-15, or Vietnamese day/month/year
// (15/03/2024, 1/2/2020). It returns how many bytes it took, 0 for no (real) date, and
// whether the date was Vietnamese.
func datePrefix(s []byte) (size int, vn bool) {
	if y, n := digits(s, 4, 4); n == 4 && len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		m, n1 := digits(s[5:], 2, 2)
		d, n2 := digits(s[8:], 2, 2)
		if n1 == 2 && n2 == 2 && realDay(y, m, d) {
			return 10, false
		}
		return 0, false
	}
	d, n := digits(s, 1, 2)
	if n == 0 || n >= len(s) || s[n] != '/' {
		return 0, false
	}
	m, n1 := digits(s[n+1:], 1, 2)
	if n1 == 0 || n+1+n1 >= len(s) || s[n+1+n1] != '/' {
		return 0, false
	}
	y, n2 := digits(s[n+2+n1:], 4, 4)
	if n2 != 4 || !realDay(y, m, d) {
		return 0, false
	}
	return n + 2 + n1 + n2, true
}

// clock reads a time of day, hh:mm[:ss] (ISO also [.fff][Z|±hh[:mm]]), that is all of s.
func clock(s []byte, iso bool) bool {
	h, n := digits(s, 1, 2)
	if n == 0 || (iso && n != 2) || h > 23 || n >= len(s) || s[n] != ':' {
		return false
	}
	s = s[n+1:]
	if m, n := digits(s, 2, 2); n != 2 || m > 59 {
		return false
	}
	s = s[2:]
	if len(s) > 0 && s[0] == ':' {
		sec, n := digits(s[1:], 2, 2)
		if n != 2 || sec > 59 && !(iso && sec == 60) {
			return false
		}
		s = s[3:]
		if iso && len(s) > 0 && s[0] == '.' {
			_, n := digits(s[1:], 1, 9)
			if n == 0 {
				return false
			}
			s = s[1+n:]
		}
	}
	if !iso || len(s) == 0 {
		return len(s) == 0
	}
	if s[0] == 'Z' {
		return len(s) == 1
	}
	if s[0] != '+' && s[0] != '-' {
		return false
	}
	s = s[1:]
	if _, n := digits(s, 2, 2); n != 2 {
		return false
	}
	s = s[2:]
	if len(s) > 0 && s[0] == ':' {
		s = s[1:]
	}
	if len(s) == 0 {
		return true
	}
	_, n = digits(s, 2, 2)
	return n == 2 && len(s) == 2
}

// dateKind says whether s is a date ("date") or a date and time ("datetime") that the
// import converts — ISO, or Vietnamese day/month/year — or neither ("").
func dateKind(s []byte) string {
	if len(s) < 8 || s[0] < '0' || s[0] > '9' {
		return ""
	}
	n, vn := datePrefix(s)
	switch {
	case n == 0:
		return ""
	case n == len(s):
		return "date"
	case s[n] == ' ' || s[n] == 'T' && !vn:
		if clock(s[n+1:], !vn) {
			return "datetime"
		}
	}
	return ""
}

// profile learns, while the file streams past, each property's value kinds and how many
// features leave it empty. Doing it in Go on the reading goroutines spares the database a
// pass over every property of every feature (it was most of an import's time).
type profile struct {
	mu    sync.Mutex
	kinds map[string]uint8
	empty map[string]int64 // null or "" values
	seen  map[string]int64 // features that have the key at all
	n     int64
}

func newProfile() *profile {
	return &profile{kinds: map[string]uint8{}, empty: map[string]int64{}, seen: map[string]int64{}}
}

// add profiles a batch; it may run on several goroutines at once.
func (p *profile) add(batch []Feature) {
	var parser fastjson.Parser
	// One counter per key, found with a lookup that does not allocate.
	type counter struct {
		kinds       uint8
		empty, seen int64
	}
	counters := map[string]*counter{}
	var num []byte
	for _, f := range batch {
		v, err := parser.ParseBytes(f.Props)
		if err != nil {
			continue
		}
		o, err := v.Object()
		if err != nil {
			continue
		}
		o.Visit(func(k []byte, v *fastjson.Value) {
			c := counters[string(k)]
			if c == nil {
				c = &counter{}
				counters[string(k)] = c
			}
			c.seen++
			switch v.Type() {
			case fastjson.TypeNull:
				c.empty++
			case fastjson.TypeNumber:
				num = v.MarshalTo(num[:0])
				if len(bytes.TrimPrefix(num, []byte("-"))) <= 18 && !bytes.ContainsAny(num, ".eE") {
					c.kinds |= seenInt
				} else {
					c.kinds |= seenFloat
				}
			case fastjson.TypeTrue, fastjson.TypeFalse:
				c.kinds |= seenBool
			case fastjson.TypeString:
				s := v.GetStringBytes()
				if len(s) == 0 {
					c.empty++
					break
				}
				switch dateKind(s) {
				case "date":
					c.kinds |= seenDate
				case "datetime":
					c.kinds |= seenDatetime
				default:
					c.kinds |= seenString
				}
			default:
				c.kinds |= seenObject
			}
		})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(len(batch))
	for k, c := range counters {
		p.kinds[k] |= c.kinds // a key with only empty values is there too, with no kind
		p.seen[k] += c.seen
		if c.empty > 0 {
			p.empty[k] += c.empty
		}
	}
}

// types gives every key the narrowest type that holds all its values.
func (p *profile) types() map[string]string {
	out := make(map[string]string, len(p.kinds))
	for k, s := range p.kinds {
		switch {
		case s == 0:
			out[k] = "string"
		case s&seenObject != 0:
			out[k] = "json"
		case s == seenInt:
			out[k] = "integer"
		case s&^(seenInt|seenFloat) == 0:
			out[k] = "number"
		case s == seenBool:
			out[k] = "boolean"
		case s == seenDate:
			out[k] = "date"
		case s == seenDatetime:
			out[k] = "datetime"
		default:
			out[k] = "string"
		}
	}
	return out
}

// emptyCount is how many features leave key empty or out.
func (p *profile) emptyCount(key string) int64 {
	return p.empty[key] + p.n - p.seen[key]
}
