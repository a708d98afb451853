package route

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Services resolves backends from a set of Services and their EndpointSlices (the
// controller's copies).
type Services struct {
	svcs    map[string]*corev1.Service
	slices  map[string][]*discoveryv1.EndpointSlice
	secrets map[string]*corev1.Secret
}

// NewServices indexes svcs by namespace/name.
func NewServices(svcs ...*corev1.Service) *Services {
	out := &Services{svcs: map[string]*corev1.Service{}, slices: map[string][]*discoveryv1.EndpointSlice{}}
	for _, s := range svcs {
		out.svcs[s.Namespace+"/"+s.Name] = s
	}
	return out
}

// WithEndpointSlices adds EndpointSlices, each to the Service its
// kubernetes.io/service-name label names, and returns s.
func (s *Services) WithEndpointSlices(eps ...*discoveryv1.EndpointSlice) *Services {
	for _, e := range eps {
		key := e.Namespace + "/" + e.Labels[discoveryv1.LabelServiceName]
		s.slices[key] = append(s.slices[key], e)
	}
	return s
}

// WithSecrets adds Secrets, the TLS entries' certificates, and returns s.
func (s *Services) WithSecrets(secrets ...*corev1.Secret) *Services {
	if s.secrets == nil {
		s.secrets = map[string]*corev1.Secret{}
	}
	for _, sec := range secrets {
		s.secrets[sec.Namespace+"/"+sec.Name] = sec
	}
	return s
}

// Certificate reads the certificate of Secret namespace/name (ParseCert); ErrNoSecret when
// there is none.
func (s *Services) Certificate(namespace, name string) (Cert, error) {
	sec, ok := s.secrets[namespace+"/"+name]
	if !ok {
		return Cert{}, ErrNoSecret
	}
	return ParseCert(sec)
}

// Service returns Service namespace/name, nil when there is none.
func (s *Services) Service(namespace, name string) *corev1.Service {
	return s.svcs[namespace+"/"+name]
}

// ErrNoService says a backend's Service does not exist (yet).
var ErrNoService = errors.New("no such Service")

// Resolve finds port (a number or a name) of Service namespace/name: the ready endpoints
// of that port (pod address and target port, from the Service's EndpointSlices), or the
// external name for an ExternalName Service (Knative's placeholder and DomainMapping
// Services are such), dialled by DNS name. A Service without ready endpoints resolves,
// with none (requests get 503 until it has some). The port speaks h2c when its
// appProtocol says so (kubernetes.io/h2c, h2c) or, without one, when it is named h2c,
// http2 or grpc, as Knative names them.
func (s *Services) Resolve(namespace, name string, port intstr.IntOrString) (Backend, error) {
	b := Backend{Namespace: namespace, Name: name, Port: port.String()}
	svc := s.svcs[namespace+"/"+name]
	if svc == nil {
		return b, ErrNoService
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if port.Type != intstr.Int {
			return b, fmt.Errorf("ExternalName Service: name the port by number, not %q", port.StrVal)
		}
		b.Address = net.JoinHostPort(strings.TrimSuffix(svc.Spec.ExternalName, "."), strconv.Itoa(int(port.IntVal)))
		return b, nil
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (port.Type == intstr.Int && p.Port == port.IntVal) || (port.Type == intstr.String && p.Name == port.StrVal) {
			sp = p
			break
		}
	}
	if sp == nil {
		return b, fmt.Errorf("the Service has no port %s", port.String())
	}
	if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
		return b, fmt.Errorf("port %s is %s, not TCP", port.String(), sp.Protocol)
	}
	b.Endpoints = ReadyEndpoints(sp.Name, s.slices[namespace+"/"+name])
	switch ap := ptrString(sp.AppProtocol); {
	case ap == "kubernetes.io/h2c" || ap == "h2c":
		b.H2C = true
	case ap == "":
		n := strings.ToLower(sp.Name)
		b.H2C = n == "h2c" || n == "http2" || n == "grpc" || strings.HasPrefix(n, "http2-") || strings.HasPrefix(n, "grpc-")
	}
	return b, nil
}

// ReadyEndpoints returns the addresses ("ip:port", sorted, each once) of the ready
// endpoints in eps for the Service port named portName ("" for a Service's only,
// unnamed port). An EndpointSlice names its ports as the Service does and holds the
// target port already resolved (a named target port can differ from pod to pod, so one
// Service port can have several numbers, each in its own slice). An endpoint is ready
// unless its ready condition says false (nil means ready, as the API says: terminating
// endpoints are never ready); of its addresses, which are fungible, the first is used.
// FQDN slices are skipped.
func ReadyEndpoints(portName string, eps []*discoveryv1.EndpointSlice) []string {
	var out []string
	for _, e := range eps {
		if e.AddressType != discoveryv1.AddressTypeIPv4 && e.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		var port int32
		for _, p := range e.Ports {
			if ptrString(p.Name) == portName && p.Port != nil && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
				port = *p.Port
				break
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range e.Endpoints {
			if len(ep.Addresses) == 0 || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
				continue
			}
			out = append(out, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port))))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TrimEndpointSlice keeps of an EndpointSlice what routing reads (a cache transform,
// cache.TransformFunc): its name, namespace, UID, resource version and Service label,
// address type and ports, and of each ready endpoint its first address (its ready
// condition left nil, which means ready). Not kept:
// endpoints that are not ready (terminating ones among them), host and node names,
// zones, hints, target references, other labels, annotations, owners, managed fields —
// most of a slice's bytes. Anything else (a cache tombstone) passes as it is.
func TrimEndpointSlice(obj any) (any, error) {
	e, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	out := &discoveryv1.EndpointSlice{
		TypeMeta: e.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name, UID: e.UID,
			ResourceVersion: e.ResourceVersion, DeletionTimestamp: e.DeletionTimestamp},
		AddressType: e.AddressType,
		Ports:       e.Ports,
	}
	if svc, ok := e.Labels[discoveryv1.LabelServiceName]; ok {
		out.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	}
	n := 0
	for _, ep := range e.Endpoints {
		if len(ep.Addresses) > 0 && (ep.Conditions.Ready == nil || *ep.Conditions.Ready) {
			n++
		}
	}
	out.Endpoints = make([]discoveryv1.Endpoint, 0, n) // exactly: append would leave up to twice
	for _, ep := range e.Endpoints {
		if len(ep.Addresses) == 0 || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
			continue
		}
		// Ready left nil: ready, as the API reads it, and one allocation less.
		out.Endpoints = append(out.Endpoints, discoveryv1.Endpoint{Addresses: []string{ep.Addresses[0]}})
	}
	return out, nil
}
