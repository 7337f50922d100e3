package graphtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// AddApp registers an application (client id and secret) in a tenant, for
// the token endpoint. Tenants exist once an app is registered in them.
func (s *Server) AddApp(tenantID, clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.apps[strings.ToLower(tenantID)]
	if t == nil {
		t = map[string]*app{}
		s.apps[strings.ToLower(tenantID)] = t
	}
	t[strings.ToLower(clientID)] = &app{secret: secret}
}

// AddAppCertificate registers an application that signs in with a client
// certificate (an RSA key): the token endpoint accepts client assertions
// signed by the certificate's key, as MSAL sends them (PS256 or RS256).
func (s *Server) AddAppCertificate(tenantID, clientID string, cert *x509.Certificate) {
	s.AddApp(tenantID, clientID, "")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[strings.ToLower(tenantID)][strings.ToLower(clientID)].cert = cert
}

// TokenScopes returns the scope of each token issued so far, in order.
func (s *Server) TokenScopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.scopes...)
}

// ExpireSecret makes an app's secret expired: the token endpoint answers
// AADSTS7000222.
func (s *Server) ExpireSecret(tenantID, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[strings.ToLower(tenantID)][strings.ToLower(clientID)]; a != nil {
		a.expired = true
	}
}

// serveIdentity answers the Microsoft identity platform endpoints that a
// client-secret credential calls: the tenant's OpenID configuration and the
// token endpoint, with the AADSTS errors Entra ID gives (error codes and
// message openings as documented).
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		writeError(w, http.StatusNotFound, "NotFound", "No such endpoint.", false)
		return
	}
	tenant := parts[0]
	s.mu.Lock()
	apps, tenantKnown := s.apps[strings.ToLower(tenant)]
	s.mu.Unlock()
	rest := strings.Join(parts[1:], "/")
	switch {
	case rest == "v2.0/.well-known/openid-configuration" && r.Method == http.MethodGet:
		if !tenantKnown {
			aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
			return
		}
		base := baseURL(r) + "/" + tenant
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
			"jwks_uri":               base + "/discovery/v2.0/keys",
		})
	case rest == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain a form.")
			return
		}
		if !tenantKnown {
			aadError(w, http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
			return
		}
		clientID := r.PostForm.Get("client_id")
		s.mu.Lock()
		a := apps[strings.ToLower(clientID)]
		var secret string
		var expired bool
		var cert *x509.Certificate
		if a != nil {
			secret, expired, cert = a.secret, a.expired, a.cert
		}
		s.mu.Unlock()
		assertion := r.PostForm.Get("client_assertion")
		switch {
		case a == nil:
			aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+clientID+"' was not found in the directory '"+tenant+"'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.")
		case assertion != "" && (cert == nil || verifyAssertion(assertion, clientID, cert) != nil):
			aadError(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: the certificate used to sign it is not registered on application '"+clientID+"'.")
		case assertion == "" && (secret == "" || r.PostForm.Get("client_secret") != secret):
			aadError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
		case expired:
			aadError(w, http.StatusUnauthorized, "invalid_client", 7000222, "The provided client secret keys for app '"+clientID+"' are expired. Visit the Azure portal to create new keys for your app.")
		default:
			tok := "emulated-" + newID()
			s.mu.Lock()
			s.issued[tok] = true
			s.scopes = append(s.scopes, r.PostForm.Get("scope"))
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
		}
	default:
		writeError(w, http.StatusNotFound, "NotFound", "No such endpoint.", false)
	}
}

func aadError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": "AADSTS" + strconv.Itoa(aadsts) + ": " + msg + " Trace ID: " + newID(),
		"error_codes":       []int{aadsts},
		"trace_id":          newID(),
		"correlation_id":    newID(),
	})
}

// verifyAssertion checks a client assertion JWT: its signature by the
// certificate's RSA key (PS256 or RS256) and that it is issued by the
// client.
func verifyAssertion(jwt, clientID string, cert *x509.Certificate) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	var header struct{ Alg string }
	var claims struct{ Iss, Sub string }
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("not an RSA certificate")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header.Alg {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	default:
		err = errors.New("unsupported alg " + header.Alg)
	}
	if err != nil {
		return err
	}
	if !strings.EqualFold(claims.Iss, clientID) || !strings.EqualFold(claims.Sub, clientID) {
		return errors.New("assertion not issued by the client")
	}
	return nil
}
