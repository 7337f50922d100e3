package ldap

// A small LDAP client for what the source does (simple bind, StartTLS,
// searches with the paged-results control), decoding search results
// straight from the connection's buffer.
//
// Why not go-ldap's Conn: its BER decoder builds a tree of packets, with a
// buffer per element, and hands every entry through three goroutines. That
// cost about 0.27 s of CPU per 5,000 users (ldapsearch: 0.02 s), on the
// critical path because Samba, like AD, computes a page before it sends it:
// reading 5,000 users took about 1.3 times as long as ldapsearch. go-ldap
// still compiles the filters, parses DNs, encodes the requests and provides
// the Entry and Error types, so the rest of the package reads as go-ldap
// code.

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// BER tags of the LDAP messages read (RFC 4511 §4).
const (
	tagSequence      = 0x30
	tagSet           = 0x31
	tagInteger       = 0x02
	tagOctetString   = 0x04
	tagEnumerated    = 0x0a
	tagBoolean       = 0x01
	tagBindResponse  = 0x61 // [APPLICATION 1] constructed
	tagSearchEntry   = 0x64 // [APPLICATION 4]
	tagSearchDone    = 0x65 // [APPLICATION 5]
	tagSearchRef     = 0x73 // [APPLICATION 19]
	tagExtendedResp  = 0x78 // [APPLICATION 24]
	tagIntermediate  = 0x79 // [APPLICATION 25]
	tagControls      = 0xa0 // [0] constructed, after the protocolOp
	maxMessageLength = 64 << 20
)

const oidStartTLS = "1.3.6.1.4.1.1466.20037"

// wire is one LDAP connection. It runs one operation at a time.
type wire struct {
	conn    net.Conn
	r       *bufio.Reader
	msgID   int64
	timeout time.Duration // per operation; 0: none
	buf     []byte        // the message being decoded, reused

	mu     sync.Mutex
	closed bool
}

func newWire(c net.Conn, timeout time.Duration) *wire {
	return &wire{conn: c, r: bufio.NewReaderSize(c, 64<<10), timeout: timeout}
}

// Close closes the connection; safe to call more than once and from
// another goroutine (a cancelled context).
func (w *wire) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.conn.Close()
}

// deadline bounds the next operation.
func (w *wire) deadline() {
	if w.timeout > 0 {
		_ = w.conn.SetDeadline(time.Now().Add(w.timeout))
	} else {
		_ = w.conn.SetDeadline(time.Time{})
	}
}

// send writes one request: the protocolOp op, and controls when given.
func (w *wire) send(op *ber.Packet, controls ...ldap.Control) (int64, error) {
	w.msgID++
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, w.msgID, "MessageID"))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, c := range controls {
			cs.AppendChild(c.Encode())
		}
		p.AppendChild(cs)
	}
	w.deadline()
	_, err := w.conn.Write(p.Bytes())
	return w.msgID, err
}

// message is one decoded LDAPMessage envelope: the protocolOp's tag and
// contents, and the controls' contents (nil when absent). Both alias w.buf.
type message struct {
	id       int64
	op       byte
	body     []byte
	controls []byte
}

// next reads the next message for request id (others are skipped: a
// notice of disconnection has id 0 and is turned into an error).
func (w *wire) next(id int64) (message, error) {
	for {
		if err := w.readMessage(); err != nil {
			return message{}, err
		}
		d := decoder{b: w.buf}
		var m message
		m.id = d.integer()
		m.op, m.body = d.element()
		if d.more() {
			if tag, c := d.element(); tag == tagControls {
				m.controls = c
			}
		}
		if d.err != nil {
			return message{}, ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("malformed LDAP message: %w", d.err))
		}
		if m.id == 0 && m.op == tagExtendedResp {
			code, _, diag := resultOf(m.body)
			return message{}, ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("the DC closed the connection (notice of disconnection, result %d: %s)", code, diag))
		}
		if m.id == id {
			return m, nil
		}
	}
}

// readMessage reads one LDAPMessage (a SEQUENCE) into w.buf, without its
// tag and length.
func (w *wire) readMessage() error {
	tag, err := w.r.ReadByte()
	if err != nil {
		return netErr(err)
	}
	if tag != tagSequence {
		return ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("not an LDAP message (tag 0x%02x)", tag))
	}
	n, err := readLength(w.r)
	if err != nil {
		return err
	}
	if cap(w.buf) < n {
		w.buf = make([]byte, n, max(n, 2*cap(w.buf)))
	}
	w.buf = w.buf[:n]
	if _, err := io.ReadFull(w.r, w.buf); err != nil {
		return netErr(err)
	}
	return nil
}

func readLength(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, netErr(err)
	}
	if b < 0x80 {
		return int(b), nil
	}
	k := int(b & 0x7f)
	if k == 0 || k > 4 {
		return 0, ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("unsupported BER length form 0x%02x", b))
	}
	n := 0
	for range k {
		if b, err = r.ReadByte(); err != nil {
			return 0, netErr(err)
		}
		n = n<<8 | int(b)
	}
	if n > maxMessageLength {
		return 0, ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("LDAP message of %d bytes", n))
	}
	return n, nil
}

// netErr marks a read failure as a network error, as go-ldap does.
func netErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return ldap.NewError(ldap.ErrorNetwork, err)
}

// decoder walks BER elements in a byte slice. The first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) more() bool { return d.err == nil && len(d.b) > 0 }

// element returns the next element's tag and contents.
func (d *decoder) element() (byte, []byte) {
	if d.err != nil {
		return 0, nil
	}
	if len(d.b) < 2 {
		d.err = io.ErrUnexpectedEOF
		return 0, nil
	}
	tag, l := d.b[0], int(d.b[1])
	i := 2
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 || len(d.b) < 2+k {
			d.err = fmt.Errorf("bad BER length")
			return 0, nil
		}
		l = 0
		for _, c := range d.b[2 : 2+k] {
			l = l<<8 | int(c)
		}
		i += k
	}
	if l < 0 || len(d.b)-i < l {
		d.err = io.ErrUnexpectedEOF
		return 0, nil
	}
	v := d.b[i : i+l]
	d.b = d.b[i+l:]
	return tag, v
}

// expect returns the contents of the next element, which must have tag.
func (d *decoder) expect(tag byte) []byte {
	t, v := d.element()
	if d.err == nil && t != tag {
		d.err = fmt.Errorf("BER tag 0x%02x where 0x%02x was expected", t, tag)
	}
	return v
}

func (d *decoder) integer() int64 {
	t, v := d.element()
	if d.err == nil && t != tagInteger && t != tagEnumerated {
		d.err = fmt.Errorf("BER tag 0x%02x where an integer was expected", t)
	}
	if len(v) > 8 {
		d.err = fmt.Errorf("BER integer of %d bytes", len(v))
		return 0
	}
	var n int64
	for i, c := range v {
		if i == 0 && c&0x80 != 0 {
			n = -1
		}
		n = n<<8 | int64(c)
	}
	return n
}

// resultOf decodes an LDAPResult (resultCode, matchedDN, diagnosticMessage).
func resultOf(body []byte) (code int64, matched, diag string) {
	d := decoder{b: body}
	code = d.integer()
	matched = string(d.expect(tagOctetString))
	diag = string(d.expect(tagOctetString))
	if d.err != nil {
		return ldap.ErrorUnexpectedResponse, "", "malformed LDAP result: " + d.err.Error()
	}
	return code, matched, diag
}

// resultError turns a non-success LDAPResult into an *ldap.Error, so that
// ldap.IsErrorWithCode and the error classification of conn.go apply.
func resultError(body []byte) error {
	code, matched, diag := resultOf(body)
	if code == ldap.LDAPResultSuccess {
		return nil
	}
	return &ldap.Error{ResultCode: uint16(code), MatchedDN: matched, Err: errors.New(diag)}
}

// bind makes a simple bind.
func (w *wire) bind(name, password string) error {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "Bind Request")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, "User Name"))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, "Password"))
	id, err := w.send(op)
	if err != nil {
		return netErr(err)
	}
	m, err := w.next(id)
	if err != nil {
		return err
	}
	if m.op != tagBindResponse {
		return ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("bind answered with tag 0x%02x", m.op))
	}
	return resultError(m.body)
}

// startTLS runs the StartTLS extended operation and the handshake.
func (w *wire) startTLS(cfg *tls.Config) (*tls.Conn, error) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidStartTLS, "TLS Extended Command"))
	id, err := w.send(op)
	if err != nil {
		return nil, netErr(err)
	}
	m, err := w.next(id)
	if err != nil {
		return nil, err
	}
	if m.op != tagExtendedResp {
		return nil, ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("StartTLS answered with tag 0x%02x", m.op))
	}
	if err := resultError(m.body); err != nil {
		return nil, err
	}
	tc := tls.Client(w.conn, cfg)
	w.deadline()
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	w.conn, w.r = tc, bufio.NewReaderSize(tc, 64<<10)
	return tc, nil
}

// search runs one search request (one page when pc is set) and calls
// entry for each entry, in order. The entry's attribute values are copies:
// it may keep them. It returns the paging cookie of the response ("" at
// the end or without paging).
func (w *wire) search(req *ldap.SearchRequest, entry func(*ldap.Entry) error) ([]byte, error) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchRequest, nil, "Search Request")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, req.BaseDN, "Base DN"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.Scope), "Scope"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.DerefAliases), "Deref Aliases"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.SizeLimit), "Size Limit"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(req.TimeLimit), "Time Limit"))
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, req.TypesOnly, "Types Only"))
	filter, err := ldap.CompileFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	op.AppendChild(filter)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range req.Attributes {
		attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
	}
	op.AppendChild(attrs)
	id, err := w.send(op, req.Controls...)
	if err != nil {
		return nil, netErr(err)
	}
	for {
		m, err := w.next(id)
		if err != nil {
			return nil, err
		}
		switch m.op {
		case tagSearchEntry:
			e, err := decodeEntry(m.body)
			if err != nil {
				return nil, err
			}
			if err := entry(e); err != nil {
				return nil, err
			}
			w.deadline() // the timeout bounds each wait, not the whole page
		case tagSearchDone:
			if err := resultError(m.body); err != nil {
				return nil, err
			}
			return pagingCookie(m.controls), nil
		case tagSearchRef, tagIntermediate:
			// Referrals to other naming contexts (AD's DomainDnsZones…)
			// are not followed: users live in the domain partition.
		default:
			return nil, ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("search answered with tag 0x%02x", m.op))
		}
	}
}

// decodeEntry decodes a SearchResultEntry into an *ldap.Entry. One copy of
// the message backs every raw value; strings are copied out of it.
func decodeEntry(body []byte) (*ldap.Entry, error) {
	body = append([]byte(nil), body...)
	d := decoder{b: body}
	e := &ldap.Entry{DN: string(d.expect(tagOctetString))}
	attrs := decoder{b: d.expect(tagSequence)}
	for attrs.more() {
		a := decoder{b: attrs.expect(tagSequence)}
		ea := &ldap.EntryAttribute{Name: string(a.expect(tagOctetString))}
		vals := decoder{b: a.expect(tagSet)}
		for vals.more() {
			v := vals.expect(tagOctetString)
			ea.Values = append(ea.Values, string(v))
			ea.ByteValues = append(ea.ByteValues, v)
		}
		if err := errors.Join(a.err, vals.err); err != nil {
			return nil, ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("malformed search entry %s: %w", e.DN, err))
		}
		e.Attributes = append(e.Attributes, ea)
	}
	if err := errors.Join(d.err, attrs.err); err != nil {
		return nil, ldap.NewError(ldap.ErrorUnexpectedResponse, fmt.Errorf("malformed search entry %s: %w", e.DN, err))
	}
	return e, nil
}

// pagingCookie finds the paged-results control among the controls of a
// SearchResultDone and returns its cookie.
func pagingCookie(controls []byte) []byte {
	cs := decoder{b: controls}
	for cs.more() {
		c := decoder{b: cs.expect(tagSequence)}
		oid := string(c.expect(tagOctetString))
		if oid != ldap.ControlTypePaging {
			continue
		}
		t, v := c.element()
		if t == tagBoolean {
			_, v = c.element()
		}
		val := decoder{b: v}
		seq := decoder{b: val.expect(tagSequence)}
		seq.integer()
		cookie := seq.expect(tagOctetString)
		if seq.err != nil {
			return nil
		}
		return append([]byte(nil), cookie...)
	}
	return nil
}
