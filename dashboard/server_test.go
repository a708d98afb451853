package dashboard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/registry"
	"github.com/kfup/kfup/manifests"
)

const testHost = "127.0.0.1:7777"

// testServer is a dashboard over a fake client that has kfup's CRDs and objs, and a
// browser session for it.
type testServer struct {
	t      *testing.T
	s      *Server
	c      client.Client
	cookie *http.Cookie
}

func newTestServer(t *testing.T, funcs *interceptor.Funcs, objs []client.Object, opts ...Option) *testServer {
	t.Helper()
	scheme, err := registry.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	crds, err := manifests.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme)
	for _, crd := range crds {
		// names and versions are all Discover reads; the schemas only slow the fake down
		light := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: crd.Name},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: crd.Spec.Group, Names: crd.Spec.Names, Scope: crd.Spec.Scope}}
		for _, v := range crd.Spec.Versions {
			light.Spec.Versions = append(light.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v.Name, Served: v.Served, Storage: v.Storage})
		}
		b = b.WithObjects(light)
	}
	b = b.WithObjects(objs...).WithObjects(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	var c client.Client = b.Build()
	if funcs != nil {
		c = interceptor.NewClient(c.(client.WithWatch), *funcs)
	}
	opts = append([]Option{WithAPIs(registry.APIs), WithToken("secret-token"), WithClusterName("kfup")}, opts...)
	s, err := New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, s: s, c: c}
	rec := ts.do(httptest.NewRequest("GET", "/login?token=secret-token", nil))
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == CookieName {
			ts.cookie = ck
		}
	}
	if ts.cookie == nil {
		t.Fatalf("login gave no cookie: %d %s", rec.Code, rec.Body)
	}
	return ts
}

func (ts *testServer) do(r *http.Request) *httptest.ResponseRecorder {
	r.Host = testHost
	if ts.cookie != nil {
		r.AddCookie(ts.cookie)
	}
	w := httptest.NewRecorder()
	ts.s.ServeHTTP(w, r)
	return w
}

// get fetches path and fails the test unless it answers 200.
func (ts *testServer) get(path string) string {
	ts.t.Helper()
	w := ts.do(httptest.NewRequest("GET", path, nil))
	if w.Code != http.StatusOK {
		ts.t.Fatalf("GET %s: %d\n%s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

func (ts *testServer) post(path string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(CSRFHeader, "1")
	r.Header.Set("Origin", "http://"+testHost)
	return ts.do(r)
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	missing := false
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
			missing = true
		}
	}
	if missing {
		t.Logf("page:\n%s", body)
	}
}

func TestSecurityChecks(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	anon := func(method, path, host string, hdr map[string]string, withCookie bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.Host = host
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		if withCookie {
			r.AddCookie(ts.cookie)
		}
		w := httptest.NewRecorder()
		ts.s.ServeHTTP(w, r)
		return w
	}
	origin := map[string]string{CSRFHeader: "1", "Origin": "http://" + testHost}
	for _, tc := range []struct {
		name         string
		method, path string
		host         string
		hdr          map[string]string
		cookie       bool
		want         int
	}{
		{"rebinding host refused", "GET", "/ns/default/", "evil.example:7777", nil, true, 403},
		{"rebinding host refused on login", "GET", "/login?token=x", "attacker.test", nil, false, 403},
		{"localhost name allowed", "GET", "/ns/default/", "localhost:7777", nil, true, 200},
		{"ipv6 loopback allowed", "GET", "/ns/default/", "[::1]:7777", nil, true, 200},
		{"no cookie", "GET", "/ns/default/", testHost, nil, false, 401},
		{"events need the cookie", "GET", "/events?ns=default", testHost, nil, false, 401},
		{"assets need none", "GET", "/assets/app.css", testHost, nil, false, 200},
		{"token used twice", "GET", "/login?token=secret-token", testHost, nil, false, 403},
		{"wrong token", "GET", "/login?token=guess", testHost, nil, false, 403},
		{"write without CSRF header", "POST", "/ns/default/experiments", testHost, map[string]string{"Origin": "http://" + testHost}, true, 403},
		{"write from another origin", "POST", "/ns/default/experiments", testHost, map[string]string{CSRFHeader: "1", "Origin": "http://evil.example"}, true, 403},
		{"write without Origin", "POST", "/ns/default/experiments", testHost, map[string]string{CSRFHeader: "1"}, true, 403},
		{"write from the dashboard", "POST", "/ns/default/experiments", testHost, origin, true, 422},
		{"no CORS preflight", "OPTIONS", "/ns/default/experiments", testHost, map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, true, 405},
		{"no PUT", "PUT", "/ns/default/experiments", testHost, origin, true, 405},
		{"no generic API proxy", "GET", "/api/v1/namespaces/default/secrets", testHost, nil, true, 404},
		{"bad namespace name", "GET", "/ns/Not_A_Name/training", testHost, nil, true, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := anon(tc.method, tc.path, tc.host, tc.hdr, tc.cookie)
			if w.Code != tc.want {
				t.Errorf("%s %s (Host %s): %d, want %d\n%s", tc.method, tc.path, tc.host, w.Code, tc.want, w.Body)
			}
			for k := range w.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("CORS header %s sent", k)
				}
			}
		})
	}
}

func TestLoginCookieAndHeaders(t *testing.T) {
	scheme, _ := registry.Scheme()
	s, err := New(fake.NewClientBuilder().WithScheme(scheme).Build(), WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", s.LoginPath(), nil)
	r.Host = testHost
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("login: %d to %q", w.Code, w.Header().Get("Location"))
	}
	cks := w.Result().Cookies()
	if len(cks) != 1 || !cks[0].HttpOnly || cks[0].SameSite != http.SameSiteStrictMode || cks[0].Value == "tok" || cks[0].Path != "/" {
		t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, a session id other than the token", cks)
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
	if w.Header().Get("Referrer-Policy") != "no-referrer" || w.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", w.Header())
	}
	// a random token by default, not guessable from the URL of another run
	s2, _ := New(fake.NewClientBuilder().WithScheme(scheme).Build())
	if len(s2.token) < 40 || s2.LoginPath() == s.LoginPath() {
		t.Errorf("default token %q is too short", s2.token)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:80": true, "127.0.0.1": true, "localhost:1": true, "LOCALHOST": true, "[::1]:9": true, "127.1.2.3:5": true,
		"evil.com": false, "127.0.0.1.nip.io:80": false, "localhost.evil.com": false, "10.0.0.1:80": false, "": false, "[::2]:1": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %t, want %t", host, got, want)
		}
	}
}

func TestListenBindsLoopbackOnly(t *testing.T) {
	l, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.HasPrefix(l.Addr().String(), "127.0.0.1:") {
		t.Errorf("listening on %s", l.Addr())
	}
}

func TestHomeShowsHealthCapacityRecentAndEvents(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kfup-control-plane"}, Status: corev1.NodeStatus{
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), gpuResource: resource.MustParse("2")},
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{NodeName: node.Name,
		Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi"), gpuResource: resource.MustParse("1")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "default"}, Type: "Warning", Reason: "BackOff",
		Message: "<script>alert(1)</script> back-off", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"}, LastTimestamp: metav1.Now()}
	status := func(context.Context) (*bootstrap.ClusterStatus, error) {
		return &bootstrap.ClusterStatus{Name: "kfup", State: bootstrap.StateRunning, Context: "kfup-kfup",
			Components: []bootstrap.ComponentHealth{{Name: "training", Healthy: true}, {Name: "serving", Healthy: false, Message: "deployment not ready"}}}, nil
	}
	ts := newTestServer(t, nil, []client.Object{node, pod, ev, pytorchJob("mnist", "Running")}, WithStatus(status))
	body := ts.get("/ns/default/")
	mustContain(t, body, "Running", "training", "deployment not ready", "kfup-control-plane",
		"1 of 4 (25%)", "2Gi of 8Gi (25%)", "GPU", "1 of 2 (50%)", "mnist", "PyTorchJob",
		"BackOff", "&lt;script&gt;alert(1)&lt;/script&gt;",
		// the navigation offers each installed slice
		`href="/ns/default/training"`, `href="/ns/default/experiments"`, `href="/ns/default/endpoints"`, `href="/ns/default/runs"`)
	if strings.Contains(body, "<script>alert") {
		t.Error("an event message reached the page unescaped")
	}
}

func TestNavigationFollowsInstalledCRDs(t *testing.T) {
	// a cluster without the pipelines CRDs: no Pipeline runs view
	funcs := &interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if strings.Contains(key.Name, ".pipelines.") {
			return apierrors.NewNotFound(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, key.Name)
		}
		return c.Get(ctx, key, obj, opts...)
	}}
	ts := newTestServer(t, funcs, nil)
	body := ts.get("/ns/default/")
	if strings.Contains(body, `href="/ns/default/runs"`) {
		t.Error("the Pipeline runs view is offered without the pipelines CRDs")
	}
	mustContain(t, body, `href="/ns/default/training"`)
	cat := ts.s.catalog(context.Background())
	if _, ok := cat.Find("training", "TFJob"); !ok {
		t.Errorf("catalog %s lacks TFJob", cat)
	}
}

func TestForbiddenSaysVerbAndResource(t *testing.T) {
	funcs := &interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		if u, ok := list.(interface{ GetKind() string }); ok && u.GetKind() == "PyTorchJobList" {
			return apierrors.NewForbidden(schema.GroupResource{Group: "kubeflow.org", Resource: "pytorchjobs"}, "", errors.New("RBAC"))
		}
		return c.List(ctx, list, opts...)
	}}
	ts := newTestServer(t, funcs, []client.Object{tfJob("tf-ok")})
	body := ts.get("/ns/default/training")
	mustContain(t, body, "You may not list pytorchjobs.kubeflow.org in namespace default", "kubectl auth can-i list pytorchjobs.kubeflow.org -n default",
		"tf-ok") // the kinds it may read still show
}

func TestUnreachableClusterBannerKeepsPageUsable(t *testing.T) {
	down := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/apis", Err: errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")}
	funcs := &interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return down
		},
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error { return down },
	}
	ts := newTestServer(t, funcs, nil)
	for _, path := range []string{"/ns/default/", "/ns/default/training", "/ns/default/experiments", "/ns/default/endpoints/x", "/ns/default/runs/r"} {
		body := ts.get(path)
		mustContain(t, body, "The cluster does not answer", "connection refused", "kfup status", `id="ns-select"`)
		if n := strings.Count(body, `class="banner unreachable"`); n != 1 {
			t.Errorf("%s: %d unreachable banners, want 1", path, n)
		}
	}
}

func TestRenderEveryTemplate(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"home", "training", "job", "endpoints", "endpoint", "experiments", "experiment", "trial", "runs", "run", "compare"} {
		if _, ok := p.t[name]; !ok {
			t.Errorf("no template %s", name)
		}
	}
	// an empty page of every view renders (no nil dereference in a template)
	ts := newTestServer(t, nil, nil)
	for _, path := range []string{"/ns/default/", "/ns/default/training", "/ns/default/training/PyTorchJob/none", "/ns/default/endpoints",
		"/ns/default/endpoints/none", "/ns/default/experiments", "/ns/default/experiments/none", "/ns/default/experiments/none/trials/none", "/ns/default/runs", "/ns/default/runs/none",
		"/ns/default/runs/compare?run=a&run=b"} {
		body := ts.get(path)
		if !strings.Contains(body, "</html>") {
			t.Errorf("%s: truncated page", path)
		}
	}
}

func TestEventsStream(t *testing.T) {
	b := NewBroker()
	ts := newTestServer(t, nil, nil, WithBroker(b))
	srv := httptest.NewServer(ts.s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?ns=team-a", nil)
	req.AddCookie(ts.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		b.Publish(Change{Namespace: "other", Resource: "pods"}) // not this stream's namespace
		b.Publish(Change{Namespace: "team-a", Resource: "pytorchjobs.kubeflow.org"})
		b.Publish(Change{Namespace: "team-a", Resource: "pods"})
		b.Publish(Change{Resource: "nodes"})
	}()
	buf := make([]byte, 4096)
	var got string
	for !strings.Contains(got, "event: change") || !strings.Contains(got, "\n\n") {
		n, err := resp.Body.Read(buf)
		if err != nil && err != io.EOF {
			t.Fatalf("read %q: %v", got, err)
		}
		got += string(buf[:n])
		if i := strings.Index(got, "event: change"); i >= 0 {
			got = got[i:]
		}
	}
	want := "event: change\ndata: pytorchjobs.kubeflow.org pods nodes\n\n"
	if got[:len(want)] != want {
		t.Errorf("stream %q, want %q", got, want)
	}
}
