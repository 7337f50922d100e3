package ldap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/psasync/adsync"
)

// cursorPrefix versions the cursor format.
const cursorPrefix = "ldap-usn1"

// cursor is an incremental read's position: uSNChanged is per DC and not
// replicated (docs/directories.md B7), so it is only meaningful on the DC,
// and the DC database (invocationId), that issued it, for the same scope.
type cursor struct {
	host         string
	invocationID string
	usn          int64
	scope        string // hash of the filter and bases
}

func (c cursor) String() string {
	return strings.Join([]string{cursorPrefix, c.host, c.invocationID, strconv.FormatInt(c.usn, 10), c.scope}, " ")
}

func parseCursor(s string) (cursor, error) {
	parts := strings.Split(s, " ")
	if len(parts) != 5 || parts[0] != cursorPrefix {
		return cursor{}, fmt.Errorf("%q is not an LDAP uSNChanged cursor", s)
	}
	usn, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || usn < 0 {
		return cursor{}, fmt.Errorf("cursor %q: bad USN", s)
	}
	return cursor{host: parts[1], invocationID: parts[2], usn: usn, scope: parts[4]}, nil
}

func (k *compiled) scopeHash() string {
	h := sha256.Sum256([]byte(k.scopeLabel))
	return hex.EncodeToString(h[:6])
}

// opSince is the Op of UsersSince's errors.
const opSince = "read the users changed since the cursor"

// UsersSince reads the users created or changed since the read that
// returned cursor, by uSNChanged; with cursor "" it reads every user in
// scope. The returned cursor holds the DC's host name, its invocationId and
// the highestCommittedUSN read before this read began, so changes made
// during the read are read again next time rather than lost.
//
// A cursor from another DC, from the same DC after a restore (a new
// invocationId), from another scope (filter, group, OUs) or that cannot be
// parsed gives an error wrapping adsync.ErrCursorExpired: read in full.
// Users who left scope are not reported (a full read catches them); an
// account disabled since the cursor is a change like any other, delivered
// with Enabled=false, so the caller can deactivate it at once (R-SCOPE-8).
func (s *Source) UsersSince(ctx context.Context, cur string, page func([]adsync.User) error) (string, error) {
	var prev cursor
	if cur != "" {
		var err error
		if prev, err = parseCursor(cur); err != nil {
			return "", opErr(opSince, adsync.ErrCursorExpired, nil, "%v; read in full", err)
		}
	}
	sess, err := s.k.connect(ctx)
	if err != nil {
		return "", err
	}
	defer sess.close()
	d, err := s.k.rootDSE(ctx, sess)
	if err != nil {
		return "", err
	}
	if d.host == "" || d.invocationID == "" {
		return "", opErr("read the rootDSE", adsync.ErrUnavailable, nil, "no dnsHostName or invocationId; is this an Active Directory DC?")
	}
	next := cursor{host: d.host, invocationID: d.invocationID, usn: d.highestUSN, scope: s.k.scopeHash()}
	filter := s.k.filter
	if cur != "" {
		switch {
		case prev.host != next.host:
			return "", opErr(opSince, adsync.ErrCursorExpired, nil, "the cursor is from DC %s but this connection reached %s (uSNChanged is per DC); read in full",
				prev.host, next.host)
		case prev.invocationID != next.invocationID:
			return "", opErr(opSince, adsync.ErrCursorExpired, nil, "DC %s has a new invocationId (restored from a backup?); read in full",
				next.host)
		case prev.scope != next.scope:
			return "", opErr(opSince, adsync.ErrCursorExpired, nil, "the scope (filter, group or OUs) changed since the cursor was made; read in full")
		case prev.usn > next.usn:
			return "", opErr(opSince, adsync.ErrCursorExpired, nil, "the cursor's USN %d is ahead of the DC's %d; read in full",
				prev.usn, next.usn)
		}
		filter = "(&" + s.k.filter + "(uSNChanged>=" + strconv.FormatInt(prev.usn+1, 10) + "))"
	}
	if err := s.k.read(ctx, sess, filter, page); err != nil {
		return "", err
	}
	return next.String(), nil
}
