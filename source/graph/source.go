package graph

import (
	"context"
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
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/psasync/adsync"
)

// pageSize is the $top of member reads: Graph's maximum (directory.md §A1),
// so a group of n members takes ⌈n/999⌉ calls.
const pageSize = 999

func init() {
	// Pages after the first are fetched by the SDK's page iterator, which
	// maps error bodies only through this registry. Without it a 403 on
	// page 2 would lose its Graph error code. Registering twice fails
	// harmlessly.
	_ = msgraphcore.RegisterError(msgraphcore.PageIteratorErrorRegistryKey,
		abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
}

// Source reads the members of one Entra ID group through Microsoft Graph.
// It implements adsync.DirectorySource and adsync.IncrementalSource. Its
// methods are safe for concurrent use.
type Source struct {
	cfg        Config
	log        *slog.Logger
	cred       azcore.TokenCredential
	scope      string
	base       string // Graph root, no trailing slash
	adapter    *msgraphcore.GraphRequestAdapterBase
	m          *mapping
	maxRetries int
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
	ep, _ := cfg.Cloud.Endpoints()
	s := &Source{cfg: cfg, log: cfg.Logger, scope: ep.Scope, base: strings.TrimRight(ep.GraphRoot, "/"), maxRetries: cfg.MaxRetries}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxRetries == 0 {
		s.maxRetries = DefaultMaxRetries
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
		MaxRetries:   s.maxRetries,
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

// firstMembersPage fetches the first page of the group's user members.
// Some tenants answer the OData cast with 400 Request_UnsupportedQuery
// unless it is an advanced query (directory.md §A1): then it asks again
// with ConsistencyLevel: eventual and $count=true, and returns the headers
// that later pages must carry too.
func (s *Source) firstMembersPage(ctx context.Context, sel []string, top int32) (models.UserCollectionResponseable, *abstractions.RequestHeaders, error) {
	resp, err := s.membersPage(ctx, sel, top, nil)
	if err == nil || !unsupportedQuery(err) {
		return resp, nil, err
	}
	s.log.DebugContext(ctx, "graph: the user cast needs an advanced query; retrying with ConsistencyLevel: eventual", "group", s.cfg.GroupID)
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	resp, err = s.membersPage(ctx, sel, top, h)
	return resp, h, err
}

func (s *Source) membersPage(ctx context.Context, sel []string, top int32, h *abstractions.RequestHeaders) (models.UserCollectionResponseable, error) {
	var count *bool
	if h != nil {
		t := true
		count = &t
	}
	g := s.groupsBuilder().ByGroupId(s.cfg.GroupID)
	if s.cfg.DirectMembersOnly {
		return g.Members().GraphUser().Get(ctx, &groups.ItemMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: h,
			QueryParameters: &groups.ItemMembersGraphUserRequestBuilderGetQueryParameters{Select: sel, Top: &top, Count: count}})
	}
	return g.TransitiveMembers().GraphUser().Get(ctx, &groups.ItemTransitiveMembersGraphUserRequestBuilderGetRequestConfiguration{Headers: h,
		QueryParameters: &groups.ItemTransitiveMembersGraphUserRequestBuilderGetQueryParameters{Select: sel, Top: &top, Count: count}})
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
// disabled users are left out unless IncludeDisabled.
func (s *Source) Users(ctx context.Context, page func([]adsync.User) error) error {
	p := &pager{ctx: ctx, page: page}
	read, disabled := 0, 0
	first, headers, err := s.firstMembersPage(ctx, s.m.sel, pageSize)
	if err != nil {
		err = s.apiError(s.membersOp(), err)
		s.log.WarnContext(ctx, "graph: member read failed", "group", s.cfg.GroupID, "delivered", 0, "err", err)
		return err
	}
	_, err = s.walk(ctx, first, headers, models.CreateUserCollectionResponseFromDiscriminatorValue, s.membersOp(),
		func(u adsync.User, removed bool) error {
			if removed {
				return nil
			}
			if !u.Enabled && !s.cfg.IncludeDisabled {
				disabled++
				return nil
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
		"transitive", !s.cfg.DirectMembersOnly, "users", read, "disabledLeftOut", disabled)
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

// walk goes through a collection with the SDK's page iterator and calls
// visit with each user, converted; removed is set for a users/delta
// "@removed" entry, whose user has only its ID. It stops at visit's first
// error and returns it. It detects the permission trap (members with only
// their id) before anything is visited past the first few users, and
// returns the deltaLink of the last page, if any. headers are sent again
// with every page after the first.
func (s *Source) walk(ctx context.Context, first any, headers *abstractions.RequestHeaders, factory absser.ParsableFactory, op string,
	visit func(u adsync.User, removed bool) error) (deltaLink string, err error) {
	it, err := msgraphcore.NewPageIterator[models.Userable](first, s.adapter, factory)
	if err != nil {
		return "", fmt.Errorf("graph: %s: %w", op, err)
	}
	if headers != nil {
		it.SetHeaders(headers)
	}
	var visitErr error
	seen, limited := 0, 0
	var held []adsync.User // users visited only once the trap is ruled out
	const trapSample = 10
	err = it.Iterate(ctx, func(g models.Userable) bool {
		if u, ok := g.(*models.User); g == nil || (ok && u == nil) { // a JSON null in "value"
			return true
		}
		id := deref(g.GetId())
		if id == "" {
			return true
		}
		if removedReason(g) != "" {
			visitErr = visit(adsync.User{ID: id}, true)
			return visitErr == nil
		}
		u, _ := s.m.toUser(g, s.cfg.EmailFromUPN)
		seen++
		if u.UPN == "" && u.Name == "" {
			limited++
		}
		if seen <= trapSample {
			held = append(held, u)
			if seen < trapSample {
				return true
			}
			if limited == seen {
				visitErr = s.limitedInfoError(op)
				return false
			}
			for _, h := range held {
				if visitErr = visit(h, false); visitErr != nil {
					return false
				}
			}
			held = nil
			return true
		}
		visitErr = visit(u, false)
		return visitErr == nil
	})
	if err != nil {
		return "", s.apiError(op, err)
	}
	if visitErr != nil {
		return "", visitErr
	}
	if next := it.GetOdataNextLink(); next != nil && *next != "" {
		// Iterate returned without reaching the end: never report a
		// truncated read as complete (R-DEACT-3).
		return "", fmt.Errorf("graph: %s: the page iterator stopped before the last page: %w", op, adsync.ErrIncompleteRead)
	}
	if seen > 0 && limited == seen {
		return "", s.limitedInfoError(op)
	}
	for _, h := range held {
		if err := visit(h, false); err != nil {
			return "", err
		}
	}
	if dl := it.GetOdataDeltaLink(); dl != nil {
		deltaLink = *dl
	}
	return deltaLink, nil
}

// limitedInfoError is the permission trap of directory.md §A1: members came
// back with only their id, because the app may read memberships but not
// users.
func (s *Source) limitedInfoError(op string) error {
	return &Error{Op: op, Code: "LimitedInformation", Kind: adsync.ErrUnauthorized,
		Message: "group members came back with only their id and no properties",
		Hint:    "the app can read the group's membership but not users: grant the application permission User.Read.All (with GroupMember.Read.All) and an administrator's consent"}
}

// removedReason returns the @removed reason of a delta entry, "" for a
// present user.
func removedReason(g models.Userable) string {
	r, ok := g.GetAdditionalData()["@removed"]
	if !ok {
		return ""
	}
	if m, ok := r.(map[string]any); ok {
		if s := scalar(m["reason"]); s != "" {
			return s
		}
	}
	return "removed"
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
	resp, _, err := s.firstMembersPage(ctx, []string{"id", "userPrincipalName", "displayName"}, 1)
	if err != nil {
		return st, s.apiError(s.membersOp(), err)
	}
	if resp != nil {
		for _, u := range resp.GetValue() {
			if u != nil && deref(u.GetUserPrincipalName()) == "" && deref(u.GetDisplayName()) == "" {
				return st, s.limitedInfoError(s.membersOp())
			}
		}
	}
	return st, nil
}
