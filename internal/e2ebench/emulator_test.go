package e2ebench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/psasync/adsync/source/graph/graphtest"
)

// The emulator process: the test binary started with E2EBENCH_EMULATOR=1.
// It reads one JSON command per line on stdin and answers one JSON line on
// stdout, so that the benchmark's process holds none of the emulators'
// memory.

// command is one request to the emulator process.
type command struct {
	Op string `json:"op"` // setup, latency, daily, stats
	// setup; PerCall is for the latency command
	Users    int           `json:"users,omitempty"`
	Matched  int           `json:"matched,omitempty"` // users with a contact already (linked by email)
	PerCall  time.Duration `json:"perCall,omitempty"`
	PerRecor time.Duration `json:"perRecord,omitempty"`
}

// answer is the emulator process's reply.
type answer struct {
	Error string `json:"error,omitempty"`
	// setup
	GraphURL string `json:"graphURL,omitempty"`
	ZoneURL  string `json:"zoneURL,omitempty"`
	Code     string `json:"code,omitempty"`
	User     string `json:"user,omitempty"`
	Secret   string `json:"secret,omitempty"`
	Group    string `json:"group,omitempty"`
	Company  int64  `json:"company,omitempty"`
	Billing  int64  `json:"billing,omitempty"`
	// daily
	Changed, Added, Left int `json:",omitempty"`
	// stats: calls by kind since the previous stats, the peak RSS since
	// then, the most requests seen in flight per endpoint.
	Calls     map[string]int `json:"calls,omitempty"`
	PeakRSS   int64          `json:"peakRSS,omitempty"`
	MaxFlight map[string]int `json:"maxFlight,omitempty"`
	Rejected  int            `json:"rejected,omitempty"`
	Contacts  int            `json:"contacts,omitempty"`
}

// emulators is the state of the emulator process.
type emulators struct {
	graph   *graphtest.Server
	at      *autotasktest.Server
	rng     *rand.Rand
	group   string
	members []string // user ids in the synced group
	next    int      // the next user number
	// perRecord is the model's cost per record (setup); the cost per
	// call is set per run.
	perRecord time.Duration
}

// serveEmulators runs the emulator process until stdin closes.
func serveEmulators() {
	e := &emulators{rng: rand.New(rand.NewPCG(14, 2026))}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var c command
		var a answer
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			a.Error = err.Error()
		} else {
			a = e.do(c)
		}
		if err := out.Encode(a); err != nil {
			os.Exit(1)
		}
	}
	if e.at != nil {
		e.at.Close()
		e.graph.Close()
	}
}

func (e *emulators) do(c command) answer {
	switch c.Op {
	case "setup":
		return e.setup(c)
	case "daily":
		return e.daily()
	case "latency":
		e.at.SetLatencyModel(autotasktest.Latency{PerCall: c.PerCall, PerRecord: e.perRecord})
		return answer{}
	case "stats":
		return e.stats()
	}
	return answer{Error: fmt.Sprintf("unknown op %q", c.Op)}
}

func (e *emulators) guid() string {
	r := e.rng
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff,
		r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
}

var titles = []string{"Account Manager", "Software Engineer", "Office Manager", "Accountant", "Support Analyst", "Buyer"}

// user is user number i, with the values a customer's directory has.
func (e *emulators) user(i int) graphtest.User {
	first, last := fmt.Sprintf("Given%d", i), fmt.Sprintf("Family%d", i)
	mail := fmt.Sprintf("given%d.family%d@contoso.example", i, i)
	return graphtest.User{ID: e.guid(), GivenName: first, Surname: last, DisplayName: first + " " + last,
		Mail: mail, UserPrincipalName: mail, JobTitle: titles[i%len(titles)],
		BusinessPhones: []string{fmt.Sprintf("+44 20 7946 %04d", i%10000)}, MobilePhone: fmt.Sprintf("+44 7700 9%05d", i%100000),
		StreetAddress: "1 Harbour Road", City: "London", PostalCode: fmt.Sprintf("E%d 1AA", 1+i%20), UsageLocation: "GB"}
}

func (e *emulators) setup(c command) answer {
	e.graph = graphtest.NewServer()
	e.at = autotasktest.NewServer(autotasktest.Options{
		// The hourly budget is not what is measured: pacing would hide the
		// latency. Budget hours are computed from the calls instead.
		HourlyLimit: 1 << 30, TimeScale: 0.001,
		// The model is set per run (the latency command).
	})
	e.perRecord = c.PerRecor
	co := e.at.AddCompany("Contoso")
	billing := e.at.AddBillingProduct("Managed User")
	e.group = e.graph.AddGroup(e.guid(), "Autotask Contacts")
	const chunk = 10_000
	for lo := 0; lo < c.Users; lo += chunk {
		us := make([]graphtest.User, 0, chunk)
		for i := lo; i < min(lo+chunk, c.Users); i++ {
			us = append(us, e.user(i))
		}
		e.members = append(e.members, e.graph.AddUsers(e.group, us...)...)
	}
	e.next = c.Users
	// The matched users: a contact with the user's name and email, as an
	// MSP's earlier manual entry would be, spread over the id range.
	for k := range c.Matched {
		u := e.user(k * (c.Users / c.Matched))
		if _, err := e.at.SeedContact(co, autotasktest.Fields{"firstName": u.GivenName, "lastName": u.Surname,
			"emailAddress": u.Mail}); err != nil {
			return answer{Error: err.Error()}
		}
	}
	cr := e.at.Credentials()
	e.at.ResetRequests()
	return answer{GraphURL: e.graph.GraphURL(), ZoneURL: e.at.ZoneLookupURL(), Code: cr.IntegrationCode,
		User: cr.Username, Secret: cr.Secret, Group: e.group, Company: co, Billing: billing}
}

// daily makes a day's changes: 1 % of the users get a new title, 0.5 % new
// users join, 0.2 % leave the group.
func (e *emulators) daily() answer {
	n := len(e.members)
	changed, added, left := n/100, n/200, n/500
	perm := e.rng.Perm(n)
	for _, i := range perm[:changed] {
		e.graph.UpdateUser(e.members[i], func(u *graphtest.User) { u.JobTitle = "Senior " + u.JobTitle })
	}
	gone := map[int]bool{}
	for _, i := range perm[changed : changed+left] {
		e.graph.RemoveMember(e.group, e.members[i])
		gone[i] = true
	}
	kept := e.members[:0]
	for i, id := range e.members {
		if !gone[i] {
			kept = append(kept, id)
		}
	}
	e.members = kept
	us := make([]graphtest.User, added)
	for k := range us {
		us[k] = e.user(e.next)
		e.next++
	}
	e.members = append(e.members, e.graph.AddUsers(e.group, us...)...)
	return answer{Changed: changed, Added: added, Left: left}
}

// digits stands for an id in a path, so that calls group by kind.
var digits = regexp.MustCompile(`[0-9]+`)

func (e *emulators) stats() answer {
	a := answer{Calls: map[string]int{}, MaxFlight: map[string]int{}}
	for _, r := range e.at.Requests() {
		a.Calls[r.Method+" "+digits.ReplaceAllString(r.Path, "{id}")]++
		if r.Endpoint != "" && a.MaxFlight[r.Endpoint] == 0 {
			a.MaxFlight[r.Endpoint] = e.at.MaxConcurrent(r.Endpoint)
		}
	}
	a.Rejected = e.at.ThreadRejections()
	a.Contacts = e.at.ContactCount()
	a.PeakRSS = peakRSS()
	resetPeakRSS()
	e.at.ResetRequests()
	return a
}

// peakRSS is the process's peak resident set since the last reset, in
// bytes (VmHWM of /proc/self/status; 0 where there is none).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS starts a new peak (Linux: "5" into clear_refs resets VmHWM
// to the current RSS).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
