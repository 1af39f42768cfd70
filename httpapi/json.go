package httpapi

import (
	"github.com/opencmq/opencmq/engine"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonWriter appends a JSON object by hand: the hot actions answer without reflection or
// intermediate maps. Strings are escaped per RFC 8259 and nothing more (no HTML escaping).
type jsonWriter struct {
	b     []byte
	comma bool // a value was written at this level: the next one needs a ','
}

func (w *jsonWriter) key(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...) // keys are constants that need no escaping
	w.b = append(w.b, '"', ':')
	w.comma = false
}

func (w *jsonWriter) str(k, v string) {
	w.key(k)
	w.b = appendString(w.b, v)
	w.comma = true
}

func (w *jsonWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.comma = true
}

// errMessage writes e as CMQ formats error messages: "(module)text".
func (w *jsonWriter) errMessage(k string, e *engine.Error) {
	w.key(k)
	w.b = append(w.b, '"', '(')
	w.b = strconv.AppendInt(w.b, int64(e.Module), 10)
	w.b = append(w.b, ')')
	w.b = appendEscaped(w.b, e.Message)
	w.b = append(w.b, '"')
	w.comma = true
}

// time writes t as unix seconds, 0 for the zero time.
func (w *jsonWriter) time(k string, t time.Time) {
	var v int64
	if !t.IsZero() {
		v = t.Unix()
	}
	w.int(k, v)
}

// open starts an object or array, as the value of k or (k == "") as an array element.
func (w *jsonWriter) open(k string, c byte) {
	if k != "" {
		w.key(k)
	} else if w.comma {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, c)
	w.comma = false
}

func (w *jsonWriter) close(c byte) {
	w.b = append(w.b, c)
	w.comma = true
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends the JSON escape of s, without quotes. Invalid UTF-8 (which the API
// never stores, but a backend might return) becomes U+FFFD, as encoding/json does.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
