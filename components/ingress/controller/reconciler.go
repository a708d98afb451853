package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/ingress/route"
	"github.com/kfup/kfup/internal/apihost"
)

// waitRetry is how soon objects waiting for a backend Service or for the proxy are looked
// at again (backend Services are not watched: the manager caches only kfup's children;
// their EndpointSlices are).
const waitRetry = 2 * time.Second

// Reconciler turns every Ingress of class kfup and every KIngress of kfup's class into one
// route table, publishes it for the proxy, and writes each object's status once the proxy
// serves it. One key stands for all objects: any change recompiles the whole table, which
// keeps the table consistent across objects (a local cluster has tens of routes, not
// thousands).
type Reconciler struct {
	cfg      Config
	client   client.Client
	reader   client.Reader
	recorder record.EventRecorder
	http     *http.Client
	// warned remembers, per Ingress UID, the Unsupported event last recorded for it.
	warned sync.Map
	// servedRoutes is, per object UID, how its routes were in the last table the proxy
	// was seen serving (one reconcile at a time: no lock).
	servedRoutes map[types.UID]servedRoutes

	// namedServices holds the Services the table names: the EndpointSlices whose
	// changes recompile it; namedSecrets the TLS Secrets whose changes do.
	namedServices, namedSecrets keySet
}

// keySet is a set of "namespace/name" keys that reconciles write and watch handlers read.
type keySet struct {
	mu sync.Mutex
	m  map[string]bool
}

// add adds key, before the object is read: a change after the read recompiles the table.
func (k *keySet) add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]bool{}
	}
	k.m[key] = true
}

// set makes keys the set.
func (k *keySet) set(keys map[string]bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m = keys
}

func (k *keySet) has(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[key]
}

// servedRoutes is how one object's routes were in a table.
type servedRoutes struct {
	// fingerprint is route.Result.Fingerprint (which leaves endpoints out).
	fingerprint string
	// endpoints says every resolved backend had a ready endpoint.
	endpoints bool
}

// key is the one reconcile key: the routes ConfigMap.
func (r *Reconciler) key() reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: r.cfg.Namespace, Name: r.cfg.RoutesConfigMap}}
}

// Name returns "ingress".
func (r *Reconciler) Name() string { return "ingress" }

// SetupWithManager watches Ingresses, with Knative KIngresses, and the EndpointSlices of
// the Services the table names.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	r.client, r.reader = mgr.GetClient(), mgr.GetAPIReader()
	r.recorder = mgr.GetEventRecorderFor("kfup-ingress")
	if r.http == nil {
		r.http = &http.Client{Timeout: 2 * time.Second}
	}
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{r.key()}
	})
	b := ctrl.NewControllerManagedBy(mgr).Named("ingress").
		WithOptions(controller.Options{MaxConcurrentReconciles: 1, SkipNameValidation: &r.cfg.SkipNameValidation}).
		Watches(&networkingv1.Ingress{}, all).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if !r.namedServices.has(o.GetNamespace() + "/" + o.GetLabels()[discoveryv1.LabelServiceName]) {
				return nil
			}
			return []reconcile.Request{r.key()}
		})).
		// Metadata only: a TLS Secret's change is noticed, its data read when it is named.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if !r.namedSecrets.has(o.GetNamespace() + "/" + o.GetName()) {
				return nil
			}
			return []reconcile.Request{r.key()}
		}))
	if r.cfg.Knative {
		b = b.Watches(&kingressv1alpha1.Ingress{}, all)
	}
	return b.Complete(r)
}

// compiled is one object's part of the table.
type compiled struct {
	kingress *kingressv1alpha1.Ingress
	ingress  *networkingv1.Ingress
	res      *route.Result
}

func (c compiled) uid() types.UID {
	if c.kingress != nil {
		return c.kingress.UID
	}
	return c.ingress.UID
}

// latched says the object's status already reports it served, for its generation: a
// KIngress LoadBalancerReady at its observed generation, an Ingress with its address.
// Its backends losing their ready endpoints (pods restarting, a Deployment scaled to
// zero) does not take that back: requests get 503 meanwhile, and its routes did not
// change.
func (c compiled) latched() bool {
	if k := c.kingress; k != nil {
		for _, cd := range k.Status.Conditions {
			if cd.Type == kingressv1alpha1.ConditionLoadBalancerReady {
				return cd.Status == "True" && k.Status.ObservedGeneration == k.Generation
			}
		}
		return false
	}
	return len(c.ingress.Status.LoadBalancer.Ingress) > 0
}

func (c compiled) created() metav1.Time {
	if c.kingress != nil {
		return c.kingress.CreationTimestamp
	}
	return c.ingress.CreationTimestamp
}

func (c compiled) name() string {
	if c.kingress != nil {
		return "kingress " + c.kingress.Namespace + "/" + c.kingress.Name
	}
	return "ingress " + c.ingress.Namespace + "/" + c.ingress.Name
}

// Reconcile compiles, publishes, probes and writes statuses.
func (r *Reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	objs, err := r.compileAll(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	tab := route.NewTable()
	// A TLS host's certificate is the oldest object's that names it: a newer object
	// never takes it over.
	byAge := slices.Clone(objs)
	slices.SortStableFunc(byAge, func(a, b compiled) int { return a.created().Compare(b.created().Time) })
	for _, c := range byAge {
		c.res.ClaimCerts(tab)
	}
	for _, c := range objs {
		c.res.AddRoutes(tab)
	}
	data, err := json.Marshal(tab)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("encode the route table: %w", err)
	}
	hash := proxy.Hash(data)
	cur, err := r.readRoutes(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	// The certificates first: the proxy serves a table once it holds what it names.
	kept, err := r.publishCerts(ctx, tab, objs, cur, hash)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.publish(ctx, cur, data, hash); err != nil {
		return reconcile.Result{}, err
	}
	served, why := r.probe(ctx, hash)
	if !served {
		log.V(1).Info("the proxy does not serve the new table yet", "hash", hash, "why", why)
	}
	// Certificates kept for the table published before come out at the next pass.
	retry := !served || kept
	live := map[types.UID]bool{}
	for _, c := range objs {
		if c.ingress != nil {
			live[c.ingress.UID] = true
		}
	}
	r.warned.Range(func(uid, _ any) bool {
		if !live[uid.(types.UID)] {
			r.warned.Delete(uid) // the Ingress is gone (or no longer kfup's)
		}
		return true
	})
	// An object is routed when the proxy serves this table, or when the table it still
	// serves routed the object as it compiles now (and, if its backends have ready
	// endpoints now, had them then): another object's change must not take an unchanged
	// one out of Ready while the proxy catches up. Endpoints coming and going are no
	// change of an object already reported served (latched).
	now := make(map[types.UID]servedRoutes, len(objs))
	for _, c := range objs {
		now[c.uid()] = servedRoutes{fingerprint: c.res.Fingerprint(), endpoints: len(c.res.NoEndpoints) == 0}
	}
	if served {
		r.servedRoutes = now
	}
	for _, c := range objs {
		if len(c.res.Waiting) > 0 {
			retry = true
		}
		was, ok := r.servedRoutes[c.uid()]
		is := now[c.uid()]
		latched := c.latched()
		routed := served || (ok && was.fingerprint == is.fingerprint && (was.endpoints || !is.endpoints || latched))
		if err := r.writeStatus(ctx, c, routed, latched, why); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				retry = true
				continue
			}
			return reconcile.Result{}, err
		}
	}
	if retry {
		return reconcile.Result{RequeueAfter: waitRetry}, nil
	}
	return reconcile.Result{}, nil
}

// compileAll compiles every object kfup's ingress serves, in a stable order (KIngresses,
// then Ingresses, each by namespace and name).
func (r *Reconciler) compileAll(ctx context.Context) ([]compiled, error) {
	res := &resolver{ctx: ctx, reader: r.reader, cache: r.client, seen: map[string]*route.Services{},
		name: r.namedServices.add, nameSecret: r.namedSecrets.add, secrets: map[string]secretRead{}}

	var out []compiled
	if r.cfg.Knative {
		var list kingressv1alpha1.IngressList
		if err := r.client.List(ctx, &list); err != nil {
			return nil, fmt.Errorf("list KIngresses: %w", err)
		}
		items := list.Items
		slices.SortFunc(items, func(a, b kingressv1alpha1.Ingress) int {
			return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
		})
		for i := range items {
			k := &items[i]
			if k.DeletionTimestamp != nil || !IsKfupKIngress(k) {
				continue
			}
			out = append(out, compiled{kingress: k, res: route.KIngress(k, res)})
		}
	}
	var list networkingv1.IngressList
	if err := r.client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list Ingresses: %w", err)
	}
	items := list.Items
	slices.SortFunc(items, func(a, b networkingv1.Ingress) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for i := range items {
		ing := &items[i]
		if ing.DeletionTimestamp != nil || !r.isKfupIngress(ing) {
			continue
		}
		out = append(out, compiled{ingress: ing, res: route.K8sIngress(ing, res)})
	}
	if err := res.err; err != nil {
		return nil, err
	}
	named, secrets := map[string]bool{}, map[string]bool{}
	for _, c := range out {
		for _, b := range c.res.Backends {
			named[b] = true
		}
		for _, s := range c.res.Secrets {
			secrets[s] = true
		}
	}
	r.namedServices.set(named)
	r.namedSecrets.set(secrets)
	return out, nil
}

// IsKfupKIngress says whether a KIngress names kfup's class (Knative copies
// config-network's ingress-class into this annotation).
func IsKfupKIngress(k *kingressv1alpha1.Ingress) bool {
	a := k.GetAnnotations()
	c, ok := a[kingressv1alpha1.ClassAnnotation]
	if !ok {
		c = a[kingressv1alpha1.ClassAnnotationAlt]
	}
	return c == kingressv1alpha1.Class
}

// isKfupIngress says whether an Ingress is of class kfup: spec.ingressClassName, or the
// older kubernetes.io/ingress.class annotation.
func (r *Reconciler) isKfupIngress(ing *networkingv1.Ingress) bool {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName == r.cfg.IngressClass
	}
	return ing.Annotations["kubernetes.io/ingress.class"] == r.cfg.IngressClass
}

// resolver resolves backends, once per Service per reconcile: the Service from the API
// server, its EndpointSlices from the manager's cache (trimmed: trimEndpointSlice).
type resolver struct {
	ctx        context.Context
	reader     client.Reader
	cache      client.Reader
	seen       map[string]*route.Services // nil: no such Service
	name       func(key string)
	nameSecret func(key string)
	secrets    map[string]secretRead
	err        error
}

// secretRead is what reading one TLS Secret gave.
type secretRead struct {
	cert route.Cert
	err  error
}

// Certificate reads TLS Secret ns/name from the API server (Secrets are never cached),
// once per reconcile.
func (s *resolver) Certificate(ns, name string) (route.Cert, error) {
	key := ns + "/" + name
	if got, ok := s.secrets[key]; ok {
		return got.cert, got.err
	}
	s.nameSecret(key)
	var sec corev1.Secret
	var got secretRead
	switch err := s.reader.Get(s.ctx, types.NamespacedName{Namespace: ns, Name: name}, &sec); {
	case apierrors.IsNotFound(err):
		got.err = route.ErrNoSecret // its watch says when it comes
	case apierrors.IsForbidden(err):
		got.err = fmt.Errorf("kfup's manager may not read it: components.ingress.namespaces limits its RBAC to the namespaces it serves; add %s there, or move the Secret into a served namespace (%w)", ns, err)
	case err != nil:
		// Anything else stops the reconcile, retried with backoff, as for a Service.
		got.err = fmt.Errorf("read it: %w", err)
		if s.err == nil {
			s.err = fmt.Errorf("read Secret %s: %w", key, err)
		}
	default:
		got.cert, got.err = route.ParseCert(&sec)
	}
	s.secrets[key] = got
	return got.cert, got.err
}

func (s *resolver) Resolve(ns, name string, port intstr.IntOrString) (route.Backend, error) {
	key := ns + "/" + name
	svcs, ok := s.seen[key]
	if !ok {
		var err error
		if svcs, err = s.read(ns, name); err != nil {
			return route.Backend{Namespace: ns, Name: name, Port: port.String()}, err
		}
		s.seen[key] = svcs
	}
	if svcs == nil {
		return route.Backend{Namespace: ns, Name: name, Port: port.String()}, route.ErrNoService
	}
	return svcs.Resolve(ns, name, port)
}

// read reads Service ns/name and, unless it is an ExternalName one, its EndpointSlices;
// nil when there is no such Service. An error reading the Service stops the reconcile
// (s.err); one reading its slices (a namespace the cache does not hold) is the backend's.
func (s *resolver) read(ns, name string) (*route.Services, error) {
	s.name(ns + "/" + name)
	var svc corev1.Service
	switch err := s.reader.Get(s.ctx, types.NamespacedName{Namespace: ns, Name: name}, &svc); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		if s.err == nil {
			s.err = fmt.Errorf("read Service %s/%s: %w", ns, name, err)
		}
		return nil, nil
	}
	out := route.NewServices(&svc)
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return out, nil
	}
	var list discoveryv1.EndpointSliceList
	if err := s.cache.List(s.ctx, &list, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
		return nil, fmt.Errorf("read the EndpointSlices: %w", err)
	}
	for i := range list.Items {
		out.WithEndpointSlices(&list.Items[i])
	}
	return out, nil
}

// readRoutes reads the routes ConfigMap: nil when there is none yet. One that is not kfup's
// (labelled for the ingress slice) is an error: it is never written, nor anything else
// published beside it.
func (r *Reconciler) readRoutes(ctx context.Context) (*corev1.ConfigMap, error) {
	key := r.key().NamespacedName
	var cm corev1.ConfigMap
	switch err := r.reader.Get(ctx, key, &cm); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read ConfigMap %s: %w", key, err)
	}
	if cm.Labels[apihost.LabelAPI] != APIName {
		return nil, fmt.Errorf("ConfigMap %s exists and is not kfup's (no %s=%s label): delete or rename it, kfup's ingress publishes its routes there", key, apihost.LabelAPI, APIName)
	}
	return &cm, nil
}

// publish writes the table into the routes ConfigMap cur (readRoutes), creating it when
// there is none, or updating it when it changed.
func (r *Reconciler) publish(ctx context.Context, cur *corev1.ConfigMap, data []byte, hash string) error {
	key := r.key().NamespacedName
	if cur == nil {
		cm := corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		apihost.MarkChild(&cm, APIName)
		owner, err := r.classOwner(ctx)
		if err != nil {
			return err
		}
		cm.OwnerReferences = owner
		cm.Data = map[string]string{proxy.RoutesKey: string(data), proxy.HashKey: hash}
		if err := r.client.Create(ctx, &cm); err != nil {
			return fmt.Errorf("create ConfigMap %s: %w", key, err)
		}
		return nil
	}
	if cur.Data[proxy.HashKey] == hash && cur.Data[proxy.RoutesKey] == string(data) {
		return nil
	}
	cur.Data = map[string]string{proxy.RoutesKey: string(data), proxy.HashKey: hash}
	if err := r.client.Update(ctx, cur); err != nil {
		return fmt.Errorf("update ConfigMap %s: %w", key, err)
	}
	return nil
}

// maxCertsBytes bounds the certificates Secret's data: the API server refuses a Secret
// over 1 MiB.
const maxCertsBytes = 1<<20 - 16<<10

// publishCerts writes the certificates the table names into the certificates Secret
// (<name>.crt, <name>.key), creating it, or updating it when it is kfup's and changed;
// another object of that name is never touched. The certificates of the table published
// before (in cur) stay in it too until the next pass (kept says some did), so that a proxy that
// (re)starts before the new table is written still finds every certificate of the one it
// reads; others leave it.
func (r *Reconciler) publishCerts(ctx context.Context, tab *route.Table, objs []compiled, cur *corev1.ConfigMap, hash string) (kept bool, err error) {
	data := map[string][]byte{}
	for _, n := range tab.CertNames() {
		for _, c := range objs {
			if cert, ok := c.res.Certs[n]; ok {
				data[n+proxy.CertChainSuffix], data[n+proxy.CertKeySuffix] = cert.Chain, cert.Key
				break
			}
		}
	}
	key := types.NamespacedName{Namespace: r.cfg.Namespace, Name: r.cfg.CertsSecret}
	var sec corev1.Secret
	err = r.reader.Get(ctx, key, &sec)
	if err == nil && sec.Labels[apihost.LabelAPI] == APIName {
		for _, n := range publishedCertNames(cur, hash) {
			c, k := n+proxy.CertChainSuffix, n+proxy.CertKeySuffix
			if _, ok := data[c]; !ok && sec.Data[c] != nil && sec.Data[k] != nil {
				data[c], data[k] = sec.Data[c], sec.Data[k]
				kept = true
			}
		}
	}
	size := 0
	for _, v := range data {
		size += len(v)
	}
	if size > maxCertsBytes {
		return false, fmt.Errorf("the certificates of the routes take %d bytes, more than a Secret holds (1 MiB): fewer or smaller TLS Secrets (a wildcard certificate serves many hosts)", size)
	}
	switch {
	case apierrors.IsNotFound(err):
		if len(data) == 0 {
			return false, nil // no TLS entry yet: no Secret
		}
		sec = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Type: corev1.SecretTypeOpaque, Data: data}
		apihost.MarkChild(&sec, APIName)
		owner, err := r.classOwner(ctx)
		if err != nil {
			return false, err
		}
		sec.OwnerReferences = owner
		if err := r.client.Create(ctx, &sec); err != nil {
			return false, fmt.Errorf("create Secret %s: %w", key, err)
		}
		return kept, nil
	case err != nil:
		return false, fmt.Errorf("read Secret %s: %w", key, err)
	}
	if sec.Labels[apihost.LabelAPI] != APIName {
		return false, fmt.Errorf("Secret %s exists and is not kfup's (no %s=%s label): delete or rename it, kfup's ingress publishes its certificates there", key, apihost.LabelAPI, APIName)
	}
	if equality.Semantic.DeepEqual(sec.Data, data) || (len(sec.Data) == 0 && len(data) == 0) {
		return kept, nil
	}
	sec.Data = data
	if err := r.client.Update(ctx, &sec); err != nil {
		return false, fmt.Errorf("update Secret %s: %w", key, err)
	}
	return kept, nil
}

// publishedCertNames lists the certificates the table published in cur names, when it is
// not the table of hash (one the same as the new table names nothing more); none when
// there is none or it does not read.
func publishedCertNames(cur *corev1.ConfigMap, hash string) []string {
	if cur == nil || cur.Data[proxy.HashKey] == hash {
		return nil
	}
	var t route.Table
	if err := json.Unmarshal([]byte(cur.Data[proxy.RoutesKey]), &t); err != nil {
		return nil
	}
	return t.CertNames()
}

// classOwner is the owner reference of what the controller publishes: the IngressClass,
// so that uninstalling kfup's ingress deletes the class and the garbage collector the
// rest; none when the class does not exist.
func (r *Reconciler) classOwner(ctx context.Context) ([]metav1.OwnerReference, error) {
	var class networkingv1.IngressClass
	switch err := r.reader.Get(ctx, types.NamespacedName{Name: r.cfg.IngressClass}, &class); {
	case err == nil:
		return []metav1.OwnerReference{{APIVersion: "networking.k8s.io/v1", Kind: "IngressClass", Name: class.Name, UID: class.UID}}, nil
	case apierrors.IsNotFound(err):
		return nil, nil
	default:
		return nil, fmt.Errorf("read IngressClass %s: %w", r.cfg.IngressClass, err)
	}
}

// probe asks the proxy which table it serves; served says it is hash.
func (r *Reconciler) probe(ctx context.Context, hash string) (served bool, why string) {
	if r.cfg.ProxyAdmin == "" {
		return true, "" // no proxy to ask (tests of the translation alone)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(r.cfg.ProxyAdmin, "/")+"/routes-hash", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return false, "the proxy does not answer: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if got := strings.TrimSpace(string(b)); got != hash {
		return false, fmt.Sprintf("the proxy serves routes %s, not yet %s", got, hash)
	}
	return true, ""
}

// writeStatus writes what became of one object.
func (r *Reconciler) writeStatus(ctx context.Context, c compiled, served, latched bool, why string) error {
	if c.kingress != nil {
		return r.writeKIngressStatus(ctx, c.kingress, c.res, served, latched, why)
	}
	return r.writeIngressStatus(ctx, c.ingress, c.res, served)
}

// writeKIngressStatus writes a KIngress's conditions: LoadBalancerReady turns True for a
// generation once the proxy serves it and every backend has a ready endpoint
// (WaitingForEndpoints until then), and stays so when endpoints go later (latched).
func (r *Reconciler) writeKIngressStatus(ctx context.Context, k *kingressv1alpha1.Ingress, res *route.Result, served, latched bool, why string) error {
	now := metav1.Now()
	st := k.Status.DeepCopy()
	st.ObservedGeneration = k.Generation
	network, lb := cond(kingressv1alpha1.ConditionNetworkConfigured, "True", "", ""), cond(kingressv1alpha1.ConditionLoadBalancerReady, "True", "", "")
	switch {
	case len(res.Invalid) > 0:
		network = cond(kingressv1alpha1.ConditionNetworkConfigured, "False", "Unsupported", "kfup's ingress cannot serve this: "+res.Invalid.ToAggregate().Error())
		lb = cond(kingressv1alpha1.ConditionLoadBalancerReady, "False", "Unsupported", "not routed")
	case len(res.Waiting) > 0:
		lb = cond(kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForBackends", strings.Join(res.Waiting, "; "))
	case len(res.Conflicts) > 0:
		lb = cond(kingressv1alpha1.ConditionLoadBalancerReady, "False", "CertificateConflict", strings.Join(res.Conflicts, "; "))
	case len(res.WaitingSecrets) > 0:
		lb = cond(kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForSecret",
			strings.Join(res.WaitingSecrets, "; ")+" (its hosts have no certificate of their own until then)")
	case len(res.NoEndpoints) > 0 && !latched:
		lb = cond(kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "WaitingForEndpoints", "no ready endpoints for "+strings.Join(res.NoEndpoints, ", "))
	case !served:
		lb = cond(kingressv1alpha1.ConditionLoadBalancerReady, "Unknown", "Uninitialized", why)
	}
	ready := cond(kingressv1alpha1.ConditionReady, "True", "", "")
	switch {
	case network.Status == "False":
		ready = cond(kingressv1alpha1.ConditionReady, "False", network.Reason, network.Message)
	case lb.Status != "True":
		ready = cond(kingressv1alpha1.ConditionReady, "Unknown", lb.Reason, lb.Message)
	}
	for _, c := range []kingressv1alpha1.Condition{lb, network, ready} {
		st.Conditions = setCondition(st.Conditions, c, now)
	}
	if lb.Status == "True" {
		st.PublicLoadBalancer = &kingressv1alpha1.LoadBalancerStatus{Ingress: []kingressv1alpha1.LoadBalancerIngressStatus{{DomainInternal: r.cfg.PublicDomain}}}
		st.PrivateLoadBalancer = &kingressv1alpha1.LoadBalancerStatus{Ingress: []kingressv1alpha1.LoadBalancerIngressStatus{{DomainInternal: r.cfg.PrivateDomain}}}
	} else {
		st.PublicLoadBalancer, st.PrivateLoadBalancer = nil, nil
	}
	if equalStatus(&k.Status, st) {
		return nil
	}
	k.Status = *st
	return r.client.Status().Update(ctx, k)
}

// equalStatus compares statuses, ignoring transition times.
func equalStatus(a, b *kingressv1alpha1.IngressStatus) bool {
	strip := func(s *kingressv1alpha1.IngressStatus) []byte {
		c := s.DeepCopy()
		for i := range c.Conditions {
			c.Conditions[i].LastTransitionTime = metav1.Time{}
		}
		bs, _ := json.Marshal(c)
		return bs
	}
	return string(strip(a)) == string(strip(b))
}

func cond(typ, status, reason, msg string) kingressv1alpha1.Condition {
	return kingressv1alpha1.Condition{Type: typ, Status: status, Reason: reason, Message: msg}
}

// setCondition sets c in conds, keeping its transition time while its status holds, and
// the conditions sorted by type as Knative keeps them.
func setCondition(conds []kingressv1alpha1.Condition, c kingressv1alpha1.Condition, now metav1.Time) []kingressv1alpha1.Condition {
	i := slices.IndexFunc(conds, func(o kingressv1alpha1.Condition) bool { return o.Type == c.Type })
	if i >= 0 {
		if conds[i].Status == c.Status {
			c.LastTransitionTime = conds[i].LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
		conds[i] = c
	} else {
		c.LastTransitionTime = now
		conds = append(conds, c)
	}
	slices.SortFunc(conds, func(a, b kingressv1alpha1.Condition) int { return strings.Compare(a.Type, b.Type) })
	return conds
}

// writeIngressStatus sets an Ingress's load balancer address once the proxy serves it, and
// says with a Warning event what it cannot serve (the Ingress API has no conditions).
func (r *Reconciler) writeIngressStatus(ctx context.Context, ing *networkingv1.Ingress, res *route.Result, served bool) error {
	reason, msg := "", ""
	switch {
	case len(res.Invalid) > 0:
		reason, msg = "Unsupported", "kfup's ingress does not route this Ingress: "+res.Invalid.ToAggregate().Error()
	case len(res.Conflicts) > 0:
		reason, msg = "CertificateConflict", "kfup's ingress routes this Ingress, without its certificate for: "+strings.Join(res.Conflicts, "; ")
	case len(res.WaitingSecrets) > 0:
		reason, msg = "WaitingForSecret", "kfup's ingress routes this Ingress, its hosts without a certificate of their own until it can read "+strings.Join(res.WaitingSecrets, "; ")
	case len(res.Ignored) > 0:
		reason, msg = "Unsupported", "kfup's ingress routes this Ingress but leaves out: "+strings.Join(res.Ignored, "; ")
	}
	if msg != "" {
		// once per generation and message: every object's change recompiles every Ingress
		said := fmt.Sprintf("%d %s", ing.Generation, msg)
		if old, ok := r.warned.Swap(ing.UID, said); !ok || old != said {
			r.recorder.Event(ing, corev1.EventTypeWarning, reason, msg)
		}
	} else {
		r.warned.Delete(ing.UID)
	}
	want := networkingv1.IngressLoadBalancerStatus{}
	if served && len(res.Invalid) == 0 && len(res.WaitingSecrets) == 0 && len(res.Conflicts) == 0 && r.cfg.StatusAddress != "" {
		want.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: r.cfg.StatusAddress}}
	}
	if equality.Semantic.DeepEqual(ing.Status.LoadBalancer, want) {
		return nil
	}
	ing.Status.LoadBalancer = want
	return r.client.Status().Update(ctx, ing)
}
