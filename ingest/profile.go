package ingest

import (
	"bytes"
	"regexp"
	"sync"

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

var (
	datePattern     = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`)
	datetimePattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$`)
)

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
	kinds := map[string]uint8{}
	empty := map[string]int64{}
	seen := map[string]int64{}
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
			key := string(k)
			seen[key]++
			switch v.Type() {
			case fastjson.TypeNull:
				empty[key]++
			case fastjson.TypeNumber:
				num = v.MarshalTo(num[:0])
				if len(bytes.TrimPrefix(num, []byte("-"))) <= 18 && !bytes.ContainsAny(num, ".eE") {
					kinds[key] |= seenInt
				} else {
					kinds[key] |= seenFloat
				}
			case fastjson.TypeTrue, fastjson.TypeFalse:
				kinds[key] |= seenBool
			case fastjson.TypeString:
				s := v.GetStringBytes()
				switch {
				case len(s) == 0:
					empty[key]++
				case len(s) == 10 && datePattern.Match(s):
					kinds[key] |= seenDate
				case len(s) > 10 && datetimePattern.Match(s):
					kinds[key] |= seenDatetime
				default:
					kinds[key] |= seenString
				}
			default:
				kinds[key] |= seenObject
			}
		})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(len(batch))
	for k, v := range kinds {
		p.kinds[k] |= v
	}
	for k := range seen {
		if _, ok := p.kinds[k]; !ok {
			p.kinds[k] = 0 // a key with only empty values
		}
		p.seen[k] += seen[k]
	}
	for k, n := range empty {
		p.empty[k] += n
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
