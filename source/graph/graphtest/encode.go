package graphtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Collection pages are written by appending JSON to one buffer: encoding a
// map per user (and sorting its keys) cost the emulator more than the
// client's whole read of a large group (issue #14).

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, as encoding/json writes it
// without HTML escaping: invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendStringOrNull appends s, or null for "".
func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendStrings appends a JSON array of strings ([] for nil).
func appendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendAny appends any value that encoding/json marshals (the Extra
// properties of a user), null for one it cannot.
func appendAny(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// collection builds a collection page: @odata.context, the optional
// @odata.count, @odata.nextLink and @odata.deltaLink, then value, in the
// order Graph writes them.
type collection struct {
	b     []byte
	items int
}

func newCollection(context string, count int, nextLink, deltaLink string, size int) *collection {
	c := &collection{b: make([]byte, 0, 256+size)}
	c.b = append(c.b, `{"@odata.context":`...)
	c.b = appendString(c.b, context)
	if count >= 0 {
		c.b = append(c.b, `,"@odata.count":`...)
		c.b = strconv.AppendInt(c.b, int64(count), 10)
	}
	if nextLink != "" {
		c.b = append(c.b, `,"@odata.nextLink":`...)
		c.b = appendString(c.b, nextLink)
	}
	if deltaLink != "" {
		c.b = append(c.b, `,"@odata.deltaLink":`...)
		c.b = appendString(c.b, deltaLink)
	}
	c.b = append(c.b, `,"value":[`...)
	return c
}

// next starts an item and returns the buffer to append it to.
func (c *collection) next() []byte {
	if c.items > 0 {
		c.b = append(c.b, ',')
	}
	c.items++
	return c.b
}

// write ends the page and sends it with status 200.
func (c *collection) write(w http.ResponseWriter) {
	c.b = append(c.b, "]}\n"...)
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.b)
}
