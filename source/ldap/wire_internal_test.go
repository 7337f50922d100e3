package ldap

// Unit tests of the wire client's decoding, with responses encoded by
// go-asn1-ber on a pipe. The behaviour against a real DC is tested with
// Samba in the ldap_test package; these cover the shapes Samba does not
// send: long-form lengths, referrals, other message ids, a notice of
// disconnection, truncated and malformed messages.

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envelope(id int64, op *ber.Packet, controls ...*ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, c := range controls {
			cs.AppendChild(c)
		}
		p.AppendChild(cs)
	}
	return p.Bytes()
}

func result(app uint8, code int64, diag string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(app), nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, ""))
	return op
}

func entryOp(dn string, attrs map[string][]string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for name, vals := range attrs {
		a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, ""))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
		for _, v := range vals {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
		}
		a.AppendChild(set)
		seq.AppendChild(a)
	}
	op.AppendChild(seq)
	return op
}

func pagingControl(cookie string, critical bool) *ber.Packet {
	c := ldap.NewControlPaging(0)
	c.SetCookie([]byte(cookie))
	p := c.Encode()
	if critical { // insert the optional criticality after the OID
		q := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		q.AppendChild(p.Children[0])
		q.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
		q.AppendChild(p.Children[1])
		p = q
	}
	return p
}

// serve answers the first request read from the pipe with reply, then
// closes.
func serve(t *testing.T, reply []byte) *wire {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() {
		if _, err := ber.ReadPacket(server); err != nil {
			return
		}
		_, _ = server.Write(reply)
		server.Close()
	}()
	return newWire(client, 5*time.Second)
}

func searchAll(w *wire) ([]*ldap.Entry, []byte, error) {
	var es []*ldap.Entry
	cookie, err := w.search(ldap.NewSearchRequest("DC=x", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(cn=*)", []string{"cn"},
		[]ldap.Control{ldap.NewControlPaging(10)}), func(e *ldap.Entry) error { es = append(es, e); return nil })
	return es, cookie, err
}

func TestWireSearch(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 70000)) // a 3-byte long-form length
	ref := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultReference, nil, "")
	ref.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "ldap://other/DC=x", ""))
	var stream []byte
	stream = append(stream, envelope(7, entryOp("CN=other request,DC=x", nil))...) // another message id: skipped
	stream = append(stream, envelope(1, entryOp("CN=a,DC=x", map[string][]string{"cn": {"a"}, "mail": {"a@x", "b@x"}}))...)
	stream = append(stream, envelope(1, ref)...)
	stream = append(stream, envelope(1, entryOp("CN=b,DC=x", map[string][]string{"description": {long}}))...)
	stream = append(stream, envelope(1, result(ldap.ApplicationSearchResultDone, 0, ""), pagingControl("next-page", true))...)

	es, cookie, err := searchAll(serve(t, stream))
	require.NoError(t, err)
	require.Len(t, es, 2, "the referral and the other request's entry are skipped")
	assert.Equal(t, "CN=a,DC=x", es[0].DN)
	assert.Equal(t, []string{"a@x", "b@x"}, es[0].GetEqualFoldAttributeValues("MAIL"))
	assert.Equal(t, []byte("a"), es[0].GetRawAttributeValue("cn"))
	assert.Equal(t, long, es[1].GetAttributeValue("description"))
	assert.Equal(t, "next-page", string(cookie), "the cookie is found after an optional criticality")
}

func TestWireErrors(t *testing.T) {
	done := envelope(1, result(ldap.ApplicationSearchResultDone, 0, ""), pagingControl("", false))
	notice := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedResponse, nil, "")
	for _, c := range result(ldap.ApplicationExtendedResponse, ldap.LDAPResultUnavailable, "shutting down").Children {
		notice.AppendChild(c)
	}
	entry := envelope(1, entryOp("CN=a,DC=x", map[string][]string{"cn": {"a"}}))
	for _, tc := range []struct {
		name   string
		stream []byte
		code   uint16
		msg    string
	}{
		{"result code of the search", envelope(1, result(ldap.ApplicationSearchResultDone, ldap.LDAPResultNoSuchObject, "no such object")),
			ldap.LDAPResultNoSuchObject, "no such object"},
		{"notice of disconnection", envelope(0, notice), ldap.ErrorNetwork, "notice of disconnection"},
		{"stream cut inside a message", entry[:len(entry)-3], ldap.ErrorNetwork, "unexpected EOF"},
		{"stream cut before the result", entry, ldap.ErrorNetwork, "unexpected EOF"},
		{"not an LDAP message", append([]byte{0x04, 0x01, 0x00}, done...), ldap.ErrorUnexpectedResponse, "not an LDAP message"},
		{"malformed entry", envelope(1, ber.NewString(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, "\x30\x05", "")),
			ldap.ErrorUnexpectedResponse, "malformed"},
		{"unexpected operation", envelope(1, result(ldap.ApplicationModifyResponse, 0, "")), ldap.ErrorUnexpectedResponse, "tag 0x67"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := searchAll(serve(t, tc.stream))
			require.Error(t, err)
			assert.True(t, ldap.IsErrorWithCode(err, tc.code), "%v", err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestWireBind(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int64
		diag string
	}{
		{"accepted", 0, ""},
		{"invalid credentials with AD's data code", ldap.LDAPResultInvalidCredentials, "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1"},
		{"strong authentication required", ldap.LDAPResultStrongAuthRequired, "BindSimple: Transport encryption required."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := serve(t, envelope(1, result(ldap.ApplicationBindResponse, tc.code, tc.diag))).bind("svc@corp.example", "pw")
			if tc.code == 0 {
				require.NoError(t, err)
				return
			}
			var le *ldap.Error
			require.True(t, errors.As(err, &le))
			assert.EqualValues(t, tc.code, le.ResultCode)
			assert.Equal(t, tc.diag, le.Err.Error())
		})
	}
}

func TestWireTimeout(t *testing.T) {
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() { _, _ = ber.ReadPacket(server) }() // reads the request, never answers
	w := newWire(client, 50*time.Millisecond)
	_, _, err := searchAll(w)
	require.Error(t, err)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.True(t, ldap.IsErrorWithCode(err, ldap.ErrorNetwork))
}
