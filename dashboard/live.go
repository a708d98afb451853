package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Change says that an object of Resource ("pods", "pytorchjobs.kubeflow.org") changed in
// Namespace (empty: a cluster-scoped object, such as a node).
type Change struct {
	Namespace, Resource string
}

// Broker fans changes out to the browsers watching (one server-sent event stream each).
type Broker struct {
	mu   sync.Mutex
	subs map[chan Change]string // channel → namespace watched
}

// NewBroker returns a Broker with no subscribers.
func NewBroker() *Broker { return &Broker{subs: map[chan Change]string{}} }

// Publish sends c to every subscriber of its namespace (all of them for a cluster-scoped
// object); a subscriber that is behind misses it rather than blocking the informers.
func (b *Broker) Publish(c Change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, ns := range b.subs {
		if c.Namespace != "" && c.Namespace != ns {
			continue
		}
		select {
		case ch <- c:
		default:
		}
	}
}

func (b *Broker) subscribe(ns string) (chan Change, func()) {
	ch := make(chan Change, 256)
	b.mu.Lock()
	b.subs[ch] = ns
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// WatchInterval is how often Watch asks for the resources to watch again, so that a kind
// installed while the dashboard runs gets its informer.
const WatchInterval = 30 * time.Second

// Watch runs metadata-only informers (client-go) with cfg, the user's credentials, on the
// resources that resources returns (asked again every WatchInterval: new ones are added),
// publishing every add, update and delete to b until ctx ends. A resource the user may
// not watch is logged by client-go and retried; the pages still read it directly and say
// what is forbidden.
func Watch(ctx context.Context, cfg *rest.Config, resources func(context.Context) []schema.GroupVersionResource, b *Broker) error {
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dashboard: watch client: %w", err)
	}
	f := metadatainformer.NewSharedInformerFactory(mc, 10*time.Minute)
	watched := map[schema.GroupVersionResource]bool{}
	add := func() error {
		for _, gvr := range resources(ctx) {
			if watched[gvr] {
				continue
			}
			watched[gvr] = true
			id := gvr.Resource
			if gvr.Group != "" {
				id += "." + gvr.Group
			}
			publish := func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				ns := ""
				if o, ok := obj.(interface{ GetNamespace() string }); ok {
					ns = o.GetNamespace()
				}
				b.Publish(Change{Namespace: ns, Resource: id})
			}
			if _, err := f.ForResource(gvr).Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    publish,
				UpdateFunc: func(_, obj any) { publish(obj) },
				DeleteFunc: publish,
			}); err != nil {
				return fmt.Errorf("dashboard: watch %s: %w", id, err)
			}
		}
		f.Start(ctx.Done()) // starts the informers not started yet
		return nil
	}
	if err := add(); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(WatchInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = add() // AddEventHandler fails only on a stopped informer: ctx is ending
			}
		}
	}()
	return nil
}

// events streams the changes of the namespace in ?ns= as server-sent events: one
// "change" event per 200 ms burst, its data the resources that changed, space separated.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok || s.broker == nil {
		http.Error(w, "live updates are off", http.StatusNotImplemented)
		return
	}
	ns := r.URL.Query().Get("ns")
	ch, cancel := s.broker.subscribe(ns)
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": kfup dashboard live updates\nretry: 2000\n\n")
	fl.Flush()
	ping := time.NewTicker(25 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		case c := <-ch:
			got := []string{c.Resource}
			burst := time.After(200 * time.Millisecond)
		collect:
			for {
				select {
				case c := <-ch:
					if !slices.Contains(got, c.Resource) {
						got = append(got, c.Resource)
					}
				case <-burst:
					break collect
				case <-r.Context().Done():
					return
				}
			}
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", strings.Join(got, " "))
			fl.Flush()
		}
	}
}
