package testenv

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/kfup/kfup/internal/apihost"
)

// Fault is a kind of API error the fault injector answers a request with.
type Fault string

// The faults an Injector injects.
const (
	// FaultConflict answers 409 Conflict, as a stale resourceVersion does (updates and
	// patches only).
	FaultConflict Fault = "409"
	// FaultInternal answers 500 Internal Server Error.
	FaultInternal Fault = "500"
	// FaultUnavailable answers 503 Service Unavailable.
	FaultUnavailable Fault = "503"
	// FaultTooManyRequests answers 429 with a Retry-After header, as the API server's
	// max-in-flight filter does (client-go waits and retries it itself).
	FaultTooManyRequests Fault = "429"
	// FaultTimeout sends the request, drops the server's answer and fails with
	// context.DeadlineExceeded, as a client-side timeout does: a write it fails may
	// well have happened.
	FaultTimeout Fault = "timeout"
)

// AllFaults are the faults an Injector picks from when a rule names none.
var AllFaults = []Fault{FaultConflict, FaultInternal, FaultUnavailable, FaultTooManyRequests, FaultTimeout}

// FaultRule says which requests may fail, how often and how.
type FaultRule struct {
	// Verbs are the request verbs the rule applies to: get, list, watch, create, update,
	// patch, delete, deletecollection. Empty: all but watch (a failed watch only delays
	// the cache, by the reflector's back-off).
	Verbs []string
	// Resources are the resources it applies to, "pods" or, for a subresource,
	// "pods/status". Empty: all.
	Resources []string
	// ExceptResources are resources it never applies to ("events": client-go's event
	// recorder drops an event the server refuses, by design, so a test that looks for
	// events must spare them).
	ExceptResources []string
	// Rate is the fraction of matching requests that fail, in [0, 1].
	Rate float64
	// Faults are the faults picked from; one that does not fit the verb (a conflict on a
	// get) is skipped for the next. Empty: AllFaults.
	Faults []Fault
}

// Writes are the verbs that change objects.
var Writes = []string{"create", "update", "patch", "delete", "deletecollection"}

// Reads are the verbs that read objects, watch excepted.
var Reads = []string{"get", "list"}

// Injector fails a seeded fraction of the HTTP requests of a rest.Config with API errors.
// Whether a request fails is a function of the seed, the request (verb, resource, name —
// not the namespace, which tests generate) and how many such requests came before, so
// that one seed makes the same decisions for each object however the controllers'
// requests to different objects interleave. It is safe for concurrent use.
type Injector struct {
	seed       uint64
	rules      []FaultRule
	retryAfter string
	armed      atomic.Bool

	mu       sync.Mutex
	seen     map[string]uint64 // requests so far, by verb/resource/name
	injected map[Fault]int
	byVerb   map[string]int
	record   []string // "fault verb resource name #n", in order
}

// NewInjector returns an injector for seed and rules; the first rule that matches a
// request decides. It injects nothing until Arm.
func NewInjector(seed uint64, rules ...FaultRule) *Injector {
	return &Injector{
		seed: seed, rules: rules, retryAfter: "1",
		seen: map[string]uint64{}, injected: map[Fault]int{}, byVerb: map[string]int{},
	}
}

// FaultSeedEnv names the environment variable that overrides a test's fault seed.
const FaultSeedEnv = "KFUP_FAULT_SEED"

// FaultSeed is $KFUP_FAULT_SEED when set, else def; it fails t on a malformed value.
func FaultSeed(t testing.TB, def uint64) uint64 {
	t.Helper()
	s := os.Getenv(FaultSeedEnv)
	if s == "" {
		return def
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want an unsigned integer", FaultSeedEnv, s)
	}
	return n
}

// Seed is the injector's seed.
func (i *Injector) Seed() uint64 { return i.seed }

// Arm starts (true) or stops (false) injecting faults.
func (i *Injector) Arm(on bool) { i.armed.Store(on) }

// Injected is the number of faults injected so far, of every kind.
func (i *Injector) Injected() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	n := 0
	for _, c := range i.injected {
		n += c
	}
	return n
}

// InjectedOf is the number of faults of kind f injected so far.
func (i *Injector) InjectedOf(f Fault) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.injected[f]
}

// InjectedOn is the number of faults injected so far into requests of verb.
func (i *Injector) InjectedOn(verb string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.byVerb[verb]
}

// Record lists the faults injected so far, in order: "fault verb resource name #n", n
// counting the earlier requests of that verb, resource and name.
func (i *Injector) Record() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Clone(i.record)
}

// String summarizes what was injected, for a test's log.
func (i *Injector) String() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var kinds, verbs []string
	for f, n := range i.injected {
		kinds = append(kinds, fmt.Sprintf("%s=%d", f, n))
	}
	for v, n := range i.byVerb {
		verbs = append(verbs, fmt.Sprintf("%s=%d", v, n))
	}
	sort.Strings(kinds)
	sort.Strings(verbs)
	var total uint64
	for _, n := range i.seen {
		total += n
	}
	return fmt.Sprintf("seed %d: %d requests seen; faults %s; by verb %s",
		i.seed, total, strings.Join(kinds, " "), strings.Join(verbs, " "))
}

// Config returns a copy of cfg whose requests go through the injector.
func (i *Injector) Config(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	prev := c.WrapTransport
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return &faultTransport{inj: i, next: rt}
	}
	return c
}

// StartManagerWithFaults is StartManager with the manager's every request to a resource
// (its cache's lists and watches from the first, its reads, writes, status updates and
// events) going through inj, armed from the start and disarmed before the manager stops.
// When t fails it logs the seed and how to run the test again.
func (e *Env) StartManagerWithFaults(t testing.TB, inj *Injector, apis ...apihost.API) manager.Manager {
	t.Helper()
	inj.Arm(true)
	mgr := e.StartManagerAs(t, inj.Config(e.Config), apis...)
	t.Cleanup(func() { // runs before the manager stops
		inj.Arm(false)
		t.Logf("faults: %s; in order:\n  %s", inj, strings.Join(inj.Record(), "\n  "))
		if t.Failed() {
			t.Logf("reproduce: %s=%d go test -run '^%s$' -count=1 .", FaultSeedEnv, inj.Seed(), t.Name())
		}
	})
	return mgr
}

type faultTransport struct {
	inj  *Injector
	next http.RoundTripper
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !f.inj.armed.Load() {
		return f.next.RoundTrip(req)
	}
	verb, resource, name := requestInfo(req)
	fault, ok := f.inj.decide(verb, resource, name)
	if !ok {
		return f.next.RoundTrip(req)
	}
	switch fault {
	case FaultTimeout:
		resp, err := f.next.RoundTrip(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return nil, fmt.Errorf("injected fault (%s %s %s): %w", verb, resource, name, context.DeadlineExceeded)
	case FaultConflict:
		return statusResponse(req, http.StatusConflict, metav1.StatusReasonConflict, "", resource, name,
			"Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again (injected fault)"), nil
	case FaultInternal:
		return statusResponse(req, http.StatusInternalServerError, metav1.StatusReasonInternalError, "", resource, name,
			"Internal error occurred: injected fault"), nil
	case FaultUnavailable:
		return statusResponse(req, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "", resource, name,
			"the server is currently unable to handle the request (injected fault)"), nil
	default: // FaultTooManyRequests
		return statusResponse(req, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, f.inj.retryAfter, resource, name,
			"Too many requests, please try again later (injected fault)"), nil
	}
}

// decide counts the request and says whether, and how, it fails.
func (i *Injector) decide(verb, resource, name string) (Fault, bool) {
	if resource == "" {
		return "", false // discovery and other non-resource paths: not what is under test
	}
	rule := i.rule(verb, resource)
	if rule == nil || rule.Rate <= 0 {
		return "", false
	}
	key := verb + " " + resource + " " + name
	i.mu.Lock()
	defer i.mu.Unlock()
	n := i.seen[key]
	i.seen[key] = n + 1
	h := hash(i.seed, key, n)
	if float64(h>>11)/float64(1<<53) >= rule.Rate {
		return "", false
	}
	faults := rule.Faults
	if len(faults) == 0 {
		faults = AllFaults
	}
	start := int(hash(i.seed^0x9e3779b97f4a7c15, key, n) % uint64(len(faults)))
	for k := range faults {
		fault := faults[(start+k)%len(faults)]
		if fault == FaultConflict && verb != "update" && verb != "patch" {
			continue
		}
		i.injected[fault]++
		i.byVerb[verb]++
		i.record = append(i.record, fmt.Sprintf("%s %s %s %s #%d", fault, verb, resource, name, n))
		return fault, true
	}
	return "", false
}

func (i *Injector) rule(verb, resource string) *FaultRule {
	for k := range i.rules {
		r := &i.rules[k]
		if len(r.Verbs) == 0 && verb == "watch" || len(r.Verbs) > 0 && !slices.Contains(r.Verbs, verb) {
			continue
		}
		if len(r.Resources) > 0 && !slices.Contains(r.Resources, resource) || slices.Contains(r.ExceptResources, resource) {
			continue
		}
		return r
	}
	return nil
}

func hash(seed uint64, key string, n uint64) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], n)
	_, _ = h.Write(b[:])
	_, _ = h.Write([]byte(key))
	// fnv's high bits mix poorly for close inputs: finish with splitmix64
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// requestInfo is the verb, resource (with "/subresource") and object name of an API
// request, as the API server's RequestInfo would say ("" for a non-resource path).
func requestInfo(req *http.Request) (verb, resource, name string) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:] // api/v1
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:] // apis/group/version
	default:
		return strings.ToLower(req.Method), "", ""
	}
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) > 2 {
		parts = parts[2:]
	}
	if len(parts) > 0 {
		resource = parts[0]
	}
	if len(parts) > 1 {
		name = parts[1]
	}
	if len(parts) > 2 {
		resource += "/" + parts[2]
	}
	switch req.Method {
	case http.MethodGet:
		switch {
		case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
			verb = "watch"
		case name == "":
			verb = "list"
		default:
			verb = "get"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if name == "" {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(req.Method)
	}
	return verb, resource, name
}

// statusResponse is the API server's answer with a metav1.Status body.
func statusResponse(req *http.Request, code int, reason metav1.StatusReason, retryAfter, resource, name, msg string) *http.Response {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg,
		Details: &metav1.StatusDetails{Name: name, Kind: resource},
	}
	h := http.Header{"Content-Type": []string{"application/json"}}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
		n, _ := strconv.Atoi(retryAfter)
		st.Details.RetryAfterSeconds = int32(n)
	}
	body, _ := json.Marshal(st)
	return &http.Response{
		Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}
