package postgres

// LockKey is the advisory lock key of an organization, for tests that find
// and kill the lock's session.
func LockKey(s *Store, orgID string) int64 { return s.key("org", orgID) }
