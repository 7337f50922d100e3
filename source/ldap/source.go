package ldap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/psasync/adsync"
)

// Source reads users from Active Directory. It is safe for concurrent use:
// each read or check opens its own connection.
type Source struct {
	k *compiled
}

var (
	_ adsync.DirectorySource   = (*Source)(nil)
	_ adsync.IncrementalSource = (*Source)(nil)
)

// New validates cfg (see Config.Validate) and returns a Source. It does not
// connect; Check does.
func New(cfg Config) (*Source, error) {
	k, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return &Source{k: k}, nil
}

// Filter returns the LDAP filter that selects the users in scope.
func (s *Source) Filter() string { return s.k.filter }

// String describes the source without its password.
func (s *Source) String() string { return "ldap source " + s.k.hostPort + " " + s.k.cfg.BaseDN }

// Users reads every user in scope and hands them to page in pages of at
// most adsync.MaxPageSize users. It returns nil only when the whole read
// completed (R-DEACT-3).
func (s *Source) Users(ctx context.Context, page func([]adsync.User) error) error {
	sess, err := s.k.connect(ctx)
	if err != nil {
		return err
	}
	defer sess.close()
	return s.k.read(ctx, sess, s.k.filter, page)
}

// Check connects, verifies TLS, binds, reads the rootDSE and checks that
// the base DN (and the group DN, when set) exist. The status carries the TLS
// status and the certificate's expiry (R-STATUS-2) whenever a certificate
// was seen, also when the check fails.
func (s *Source) Check(ctx context.Context) (adsync.ConnStatus, error) {
	st := adsync.ConnStatus{TLS: adsync.TLSUnknown}
	sess, err := s.k.dial(ctx)
	if err != nil {
		var le *Error
		if errors.As(err, &le) && le.TLS != "" {
			st.TLS, st.CertExpiry = le.TLS, le.CertExpiry
		}
		return st, err
	}
	defer sess.close()
	st.TLS, st.CertExpiry = sess.status, sess.expiry
	if err := sess.bind(ctx, &s.k.cfg); err != nil {
		return st, err
	}
	dse, err := s.k.rootDSE(ctx, sess)
	if err != nil {
		return st, err
	}
	st.Detail = fmt.Sprintf("%s (%s) as %s, TLS %s", s.k.hostPort, dse.host, s.k.cfg.BindName, s.k.tlsLabel())
	if err := s.k.exists(ctx, sess, "baseDN", s.k.cfg.BaseDN); err != nil {
		return st, err
	}
	for _, ou := range s.k.bases {
		if ou != s.k.cfg.BaseDN {
			if err := s.k.exists(ctx, sess, "ous", ou); err != nil {
				return st, err
			}
		}
	}
	if s.k.cfg.GroupDN != "" {
		if err := s.k.exists(ctx, sess, "groupDN", s.k.cfg.GroupDN); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (k *compiled) tlsLabel() string {
	switch {
	case k.scheme == "ldap" && !k.cfg.StartTLS:
		return "off (plaintext)"
	case k.scheme == "ldap":
		return "StartTLS, verify " + string(k.cfg.TLS.Verify)
	}
	return "LDAPS, verify " + string(k.cfg.TLS.Verify)
}

// exists checks that dn names an object, with a base-scope search.
func (k *compiled) exists(ctx context.Context, sess *session, field, dn string) error {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"objectClass"}, nil)
	_, err := sess.conn.search(req, func(*ldap.Entry) error { return nil })
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctxErr("look up "+field+" "+dn, ctx.Err())
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return opErr("check "+field, adsync.ErrNotFound, err, "%q does not exist on the DC (or the bind account cannot see it); check the DN", dn)
	}
	return opError(err, "look up "+field+" "+dn)
}

// dse is what the rootDSE tells about the DC.
type dse struct {
	host         string // dnsHostName
	invocationID string // of the DC's NTDS Settings object
	highestUSN   int64  // highestCommittedUSN
}

func (k *compiled) rootDSE(ctx context.Context, sess *session) (dse, error) {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"dnsHostName", "highestCommittedUSN", "dsServiceName"}, nil)
	entries, err := sess.entries(req)
	if ctx.Err() != nil {
		return dse{}, ctxErr("read the rootDSE", ctx.Err())
	}
	if err != nil {
		return dse{}, opError(err, "read the rootDSE")
	}
	if len(entries) != 1 {
		return dse{}, opErr("read the rootDSE", adsync.ErrUnavailable, nil, "%d entries, want 1; is this an Active Directory DC?", len(entries))
	}
	e := entries[0]
	d := dse{host: strings.ToLower(e.GetEqualFoldAttributeValue("dnsHostName"))}
	if v := e.GetEqualFoldAttributeValue("highestCommittedUSN"); v != "" {
		d.highestUSN, _ = strconv.ParseInt(v, 10, 64)
	}
	if svc := e.GetEqualFoldAttributeValue("dsServiceName"); svc != "" {
		req := ldap.NewSearchRequest(svc, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"invocationId"}, nil)
		if es, err := sess.entries(req); err == nil && len(es) == 1 {
			if b := es[0].GetEqualFoldRawAttributeValue("invocationId"); len(b) == 16 {
				d.invocationID = GUIDString(b)
			}
		}
	}
	return d, nil
}

// read runs the paged search with filter over every base, converting
// entries and handing them over in pages of at most adsync.MaxPageSize.
func (k *compiled) read(ctx context.Context, sess *session, filter string, page func([]adsync.User) error) error {
	start, n := time.Now(), 0
	defer func() {
		k.log.Debug("ldap: read users", "server", k.hostPort, "filter", filter, "users", n, "took", time.Since(start))
	}()
	buf := make([]adsync.User, 0, adsync.MaxPageSize)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := page(buf); err != nil {
			return err
		}
		n += len(buf)
		buf = buf[:0]
		return nil
	}
	for _, base := range k.bases {
		err := k.search(ctx, sess, base, filter, func(e *ldap.Entry) error {
			u, err := k.user(e)
			if err != nil {
				return err
			}
			buf = append(buf, u)
			if len(buf) == adsync.MaxPageSize {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return flush()
}

// entries runs a small search (no paging) and returns its entries.
func (s *session) entries(req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	var es []*ldap.Entry
	_, err := s.conn.search(req, func(e *ldap.Entry) error { es = append(es, e); return nil })
	return es, err
}

// search streams one paged subtree search, one LDAP page at a time (a
// paging-control loop: go-ldap's SearchWithPaging would buffer every
// entry), handing each entry to emit as it is decoded.
func (k *compiled) search(ctx context.Context, sess *session, base, filter string, emit func(*ldap.Entry) error) error {
	pc := ldap.NewControlPaging(uint32(k.cfg.PageSize))
	for pageNo := 1; ; pageNo++ {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, k.attrList, []ldap.Control{pc})
		var emitErr error
		cookie, err := sess.conn.search(req, func(e *ldap.Entry) error {
			emitErr = emit(e)
			return emitErr
		})
		switch {
		case emitErr != nil:
			return emitErr
		case ctx.Err() != nil:
			return ctxErr("read users under "+base, ctx.Err())
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return opErr("read users under "+base, adsync.ErrNotFound, err, "it does not exist on the DC (or the bind account cannot see it); check the DN")
		case err != nil:
			return opError(err, fmt.Sprintf("read users under %s (page %d)", base, pageNo))
		case len(cookie) == 0:
			return nil
		}
		pc.SetCookie(cookie)
	}
}

// user converts one entry.
func (k *compiled) user(e *ldap.Entry) (adsync.User, error) {
	guid := e.GetEqualFoldRawAttributeValue("objectGUID")
	if len(guid) != 16 {
		return adsync.User{}, opErr("read users", nil, nil, "%s has no objectGUID (%d bytes); the bind account must be able to read it", e.DN, len(guid))
	}
	u := adsync.User{
		ID:      GUIDString(guid),
		Enabled: true,
		UPN:     e.GetEqualFoldAttributeValue("userPrincipalName"),
		Name:    e.GetEqualFoldAttributeValue("displayName"),
	}
	if u.Name == "" {
		u.Name = e.GetEqualFoldAttributeValue("cn")
	}
	if v := e.GetEqualFoldAttributeValue("userAccountControl"); v != "" {
		uac, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return adsync.User{}, opErr("read users", nil, nil, "%s: userAccountControl %q is not a number", e.DN, v)
		}
		u.Enabled = uac&2 == 0
	}
	for f := adsync.Field(0); f < adsync.NumFields; f++ {
		switch a := k.attrs[f]; {
		case a == "":
		case f == adsync.AddressLine:
			u.Values[f], _ = splitAddress(e.GetEqualFoldAttributeValue(a))
		case f == adsync.AddressLine2 && strings.EqualFold(a, k.attrs[adsync.AddressLine]):
			_, u.Values[f] = splitAddress(e.GetEqualFoldAttributeValue(a))
		default:
			u.Values[f] = e.GetEqualFoldAttributeValue(a)
		}
	}
	return u, nil
}

// splitAddress splits a multi-line streetAddress (AD stores CR LF) into the
// first line and the rest, joined with ", ".
func splitAddress(s string) (line1, line2 string) {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	var rest []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if line1 == "" {
			line1 = l
		} else {
			rest = append(rest, l)
		}
	}
	return line1, strings.Join(rest, ", ")
}

// GUIDString formats a raw 16-byte objectGUID in Microsoft's canonical
// string form (MS-DTYP 2.3.4: the first three fields little-endian), as
// `samba-tool user show` and PowerShell print it. It returns "" for a slice
// of another length.
func GUIDString(b []byte) string { return adsync.GUIDString(b) }
