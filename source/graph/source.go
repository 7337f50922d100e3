package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/psasync/adsync"
)

// pageSize is the $top of member reads: Graph's maximum (docs/directories.md §A1),
// so a group of n members takes ⌈n/999⌉ calls.
const pageSize = 999

// Source reads the members of one Entra ID group through Microsoft Graph.
// It implements adsync.DirectorySource and adsync.IncrementalSource. Its
// methods are safe for concurrent use.
type Source struct {
	cfg     Config
	log     *slog.Logger
	cred    azcore.TokenCredential
	scope   string
	base    string // Graph root, no trailing slash
	adapter *msgraphcore.GraphRequestAdapterBase
	m       *mapping
}

var (
	_ adsync.DirectorySource   = (*Source)(nil)
	_ adsync.IncrementalSource = (*Source)(nil)
)

// New validates cfg and returns a Source. It makes no network call; Check
// does.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ep, _ := cfg.Cloud.Endpoints()
	s := &Source{cfg: cfg, log: cfg.Logger, scope: ep.Scope, base: strings.TrimRight(ep.GraphRoot, "/")}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseURL != "" {
		s.base = strings.TrimRight(cfg.BaseURL, "/")
		// A test or custom Graph: a token for that host, as the SDK's
		// default scope would be.
		u, _ := url.Parse(s.base)
		s.scope = u.Scheme + "://" + u.Host + "/.default"
	}
	if cfg.Scope != "" {
		s.scope = cfg.Scope
	}
	cred, err := cfg.credential(ep)
	if err != nil {
		return nil, fmt.Errorf("graph: building the credential: %w", err)
	}
	s.cred = cred
	u, _ := url.Parse(s.base)
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{s.scope}, []string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph: building the authentication provider: %w", err)
	}
	parse := absser.NewParseNodeFactoryRegistry()
	parse.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonParseNodeFactory()
	write := absser.NewSerializationWriterFactoryRegistry()
	write.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()
	s.adapter, err = msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, msgraphcore.GraphClientOptions{}, parse, write, s.httpClient())
	if err != nil {
		return nil, fmt.Errorf("graph: building the request adapter: %w", err)
	}
	s.adapter.SetBaseUrl(s.base)
	s.m = newMapping(cfg.Properties)
	return s, nil
}

// httpClient is the SDK's middleware pipeline (retry honouring Retry-After
// on 429/503/504, redirects, compression...) over the configured transport,
// with the retries bounded by MaxRetries.
func (s *Source) httpClient() *http.Client {
	mws, _ := khttp.GetDefaultMiddlewaresWithOptions(&khttp.RetryHandlerOptions{
		MaxRetries:   s.cfg.MaxRetries,
		DelaySeconds: 3,
		ShouldRetry:  func(time.Duration, int, *http.Request, *http.Response) bool { return true },
	})
	var parent http.RoundTripper
	c := &http.Client{
		// The redirect middleware follows redirects itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       100 * time.Second,
	}
	if s.cfg.HTTPClient != nil {
		parent = s.cfg.HTTPClient.Transport
		if s.cfg.HTTPClient.Timeout != 0 {
			c.Timeout = s.cfg.HTTPClient.Timeout
		}
	}
	if parent == nil {
		parent = khttp.GetDefaultTransport()
	}
	c.Transport = khttp.NewCustomTransportWithParentTransport(parent, mws...)
	return c
}

// String describes the source without secrets.
func (s Source) String() string {
	return "graph source for group " + s.cfg.GroupID + " at " + s.base
}

// Format prints String for every verb, %#v included: the Source holds the
// client secret or certificate key (in its Config and its credential),
// which fmt would otherwise print field by field (issue #10 point 12).
// Value receivers, so that a copied Source redacts too.
func (s Source) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, s.String())
}

func (s *Source) groupsBuilder() *groups.GroupsRequestBuilder {
	return groups.NewGroupsRequestBuilderInternal(map[string]string{"baseurl": s.base}, s.adapter)
}

func (s *Source) membersOp() string {
	kind := "transitive members"
	if s.cfg.DirectMembersOnly {
		kind = "direct members"
	}
	return "reading the " + kind + " of group " + s.cfg.GroupID
}

// odataErrors maps every error status to the SDK's ODataError, as its
// generated request builders do.
var odataErrors = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// firstMembersRequest builds the request of the first page of the group's
// user members.
func (s *Source) firstMembersRequest(ctx context.Context, sel []string, top int32, h *abstractions.RequestHeaders) (*abstractions.RequestInformation, error) {
	var count *bool
	if h != nil {
		t := true
		count = &t
	}
	g := s.groupsBuilder().ByGroupId(s.cfg.GroupID)
	if s.cfg.DirectMembersOnly {
		return g.Members().GraphUser().ToGetRequestInformation(ctx, &groups.ItemMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: h,
			QueryParameters: &groups.ItemMembersGraphUserRequestBuilderGetQueryParameters{Select: sel, Top: &top, Count: count}})
	}
	return g.TransitiveMembers().GraphUser().ToGetRequestInformation(ctx, &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: h,
		QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: sel, Top: &top, Count: count}})
}

// linkRequest builds a GET of an absolute @odata.nextLink or deltaLink,
// with the headers every page of the read carries.
func linkRequest(link string, h *abstractions.RequestHeaders) (*abstractions.RequestInformation, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("a link Graph returned is not a URL: %w", err)
	}
	ri := abstractions.NewRequestInformation()
	ri.Method = abstractions.GET
	ri.SetUri(*u)
	ri.Headers.TryAdd("Accept", "application/json")
	if h != nil {
		ri.Headers.AddAll(h)
	}
	return ri, nil
}

// getBody sends a request through the SDK (authentication, retries,
// error mapping) and returns the body of its successful answer.
func (s *Source) getBody(ctx context.Context, ri *abstractions.RequestInformation) ([]byte, error) {
	res, err := s.adapter.SendPrimitive(ctx, ri, "[]byte", odataErrors)
	if err != nil {
		return nil, err
	}
	body, _ := res.([]byte) // nil for an empty body
	return body, nil
}

// firstMembersPage fetches the first page of the group's user members.
// Some tenants answer the OData cast with 400 Request_UnsupportedQuery
// unless it is an advanced query (docs/directories.md §A1): then it asks again
// with ConsistencyLevel: eventual and $count=true, and returns the headers
// that later pages must carry too.
func (s *Source) firstMembersPage(ctx context.Context, sel []string, top int32) ([]byte, *abstractions.RequestHeaders, error) {
	body, err := s.membersPage(ctx, sel, top, nil)
	if err == nil || !unsupportedQuery(err) {
		return body, nil, err
	}
	s.log.DebugContext(ctx, "graph: the user cast needs an advanced query; retrying with ConsistencyLevel: eventual", "group", s.cfg.GroupID)
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	body, err = s.membersPage(ctx, sel, top, h)
	return body, h, err
}

func (s *Source) membersPage(ctx context.Context, sel []string, top int32, h *abstractions.RequestHeaders) ([]byte, error) {
	ri, err := s.firstMembersRequest(ctx, sel, top, h)
	if err != nil {
		return nil, err
	}
	return s.getBody(ctx, ri)
}

// unsupportedQuery reports a 400 Request_UnsupportedQuery.
func unsupportedQuery(err error) bool {
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.GetStatusCode() != http.StatusBadRequest {
		return false
	}
	me := oe.GetErrorEscaped()
	return me != nil && strings.EqualFold(deref(me.GetCode()), "Request_UnsupportedQuery")
}

// Users reads every user member of the group (transitively unless
// DirectMembersOnly) and hands them to page in pages of at most
// adsync.MaxPageSize. Non-user members are left out by the OData cast;
// disabled users are delivered with Enabled=false (the Syncer applies the
// organization's policy, R-SCOPE-8).
func (s *Source) Users(ctx context.Context, page func([]adsync.User) error) error {
	p := &pager{ctx: ctx, page: page}
	read, disabled := 0, 0 // disabled: of those read
	first, headers, err := s.firstMembersPage(ctx, s.m.sel, pageSize)
	if err != nil {
		err = s.apiError(s.membersOp(), err)
		s.log.WarnContext(ctx, "graph: member read failed", "group", s.cfg.GroupID, "delivered", 0, "err", err)
		return err
	}
	_, err = s.walk(ctx, first, headers, s.membersOp(),
		func(u adsync.User, removed bool) error {
			if removed {
				return nil
			}
			if !u.Enabled {
				disabled++
			}
			read++
			return p.add(u)
		})
	if err == nil {
		err = p.flush()
	}
	if err != nil {
		s.log.WarnContext(ctx, "graph: member read failed", "group", s.cfg.GroupID, "delivered", read, "err", err)
		return err
	}
	s.log.DebugContext(ctx, "graph: read the group's members", "group", s.cfg.GroupID,
		"transitive", !s.cfg.DirectMembersOnly, "users", read, "disabled", disabled)
	return nil
}

// pager hands users over in pages of at most MaxPageSize, reusing its
// buffer, and checks the context between pages.
type pager struct {
	ctx  context.Context
	page func([]adsync.User) error
	buf  []adsync.User
}

func (p *pager) add(u adsync.User) error {
	if p.buf == nil {
		p.buf = make([]adsync.User, 0, adsync.MaxPageSize)
	}
	p.buf = append(p.buf, u)
	if len(p.buf) == adsync.MaxPageSize {
		return p.flush()
	}
	return nil
}

func (p *pager) flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	if err := p.ctx.Err(); err != nil {
		return err
	}
	err := p.page(p.buf)
	p.buf = p.buf[:0]
	return err
}

// walk goes through a collection page by page, from the body of its first
// page, following @odata.nextLink, and calls visit with each user,
// converted; removed is set for a users/delta "@removed" entry, whose user
// has only its ID. It stops at visit's first error and returns it. It
// detects the permission trap (members with only their id) before anything
// is visited past the first few users, and returns the deltaLink of the
// last page, if any. headers are sent again with every page after the
// first.
func (s *Source) walk(ctx context.Context, body []byte, headers *abstractions.RequestHeaders, op string,
	visit func(u adsync.User, removed bool) error) (deltaLink string, err error) {
	dec := pageDecoder{extras: s.m.extras}
	seen, limited := 0, 0
	var held []adsync.User // users visited only once the trap is ruled out
	const trapSample = 10
	for {
		page, err := dec.decode(body)
		if err != nil {
			return "", &Error{Op: op, Kind: adsync.ErrUnavailable, Message: "Graph answered a page that is not a user collection: " + err.Error()}
		}
		for i := range page.Value {
			g := &page.Value[i]
			if g.ID == "" { // a JSON null in "value"
				continue
			}
			if g.Removed != nil {
				if err := visit(adsync.User{ID: g.ID}, true); err != nil {
					return "", err
				}
				continue
			}
			u, _ := s.m.toUser(g)
			seen++
			if u.UPN == "" && u.Name == "" {
				limited++
			}
			if seen > trapSample {
				if err := visit(u, false); err != nil {
					return "", err
				}
				continue
			}
			held = append(held, u)
			if seen < trapSample {
				continue
			}
			if limited == seen {
				return "", s.limitedInfoError(op)
			}
			for _, h := range held {
				if err := visit(h, false); err != nil {
					return "", err
				}
			}
			held = nil
		}
		if page.NextLink == "" {
			deltaLink = page.DeltaLink
			break
		}
		ri, err := linkRequest(page.NextLink, headers)
		if err != nil {
			return "", &Error{Op: op, Kind: adsync.ErrUnavailable, Message: err.Error()}
		}
		if body, err = s.getBody(ctx, ri); err != nil {
			return "", s.apiError(op, err)
		}
	}
	if seen > 0 && limited == seen {
		return "", s.limitedInfoError(op)
	}
	for _, h := range held {
		if err := visit(h, false); err != nil {
			return "", err
		}
	}
	return deltaLink, nil
}

// limitedInfoError is the permission trap of docs/directories.md §A1: members came
// back with only their id, because the app may read memberships but not
// users.
func (s *Source) limitedInfoError(op string) error {
	return &Error{Op: op, Code: "LimitedInformation", Kind: adsync.ErrUnauthorized,
		Message: "group members came back with only their id and no properties",
		Hint:    "the app can read the group's membership but not users: grant the application permission User.Read.All (with GroupMember.Read.All) and an administrator's consent"}
}

// Check gets a token, then reads the group and its first member, so that a
// bad tenant, client id, secret, missing consent or permission, or wrong
// group is reported with what to fix.
func (s *Source) Check(ctx context.Context) (adsync.ConnStatus, error) {
	st := adsync.ConnStatus{TLS: adsync.TLSNotApplicable, Detail: "Microsoft Graph " + s.base}
	if _, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}}); err != nil {
		return st, s.tokenError(err)
	}
	g, err := s.groupsBuilder().ByGroupId(s.cfg.GroupID).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}}})
	if err != nil {
		return st, s.apiError("reading group "+s.cfg.GroupID, err)
	}
	if g != nil {
		if name := deref(g.GetDisplayName()); name != "" {
			st.Detail += ", group " + name
		}
	}
	body, _, err := s.firstMembersPage(ctx, []string{"id", "userPrincipalName", "displayName"}, 1)
	if err != nil {
		return st, s.apiError(s.membersOp(), err)
	}
	var page wirePage
	if err := json.Unmarshal(body, &page); err != nil {
		return st, &Error{Op: s.membersOp(), Kind: adsync.ErrUnavailable, Message: "Graph answered a page that is not a user collection: " + err.Error()}
	}
	for _, u := range page.Value {
		if u.ID != "" && u.UserPrincipalName == "" && u.DisplayName == "" {
			return st, s.limitedInfoError(s.membersOp())
		}
	}
	return st, nil
}
