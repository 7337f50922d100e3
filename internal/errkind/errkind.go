// Package errkind holds what the error types of the directory sources and
// the Autotask client (ldap.Error, graph.Error, autotask.Error,
// autotask.APIError) share: an error that stands for an adsync sentinel
// (its kind) and has a cause, both found by errors.Is and errors.As.
package errkind

// Unwrap returns kind and cause, those that are not nil: the Unwrap []error
// of an error with a kind and a cause.
func Unwrap(kind, cause error) []error {
	var errs []error
	for _, err := range []error{kind, cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
