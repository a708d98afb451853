package route

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Services resolves backends from a set of Services (the controller's cached copies).
type Services map[string]*corev1.Service

// NewServices indexes svcs by namespace/name.
func NewServices(svcs ...*corev1.Service) Services {
	out := Services{}
	for _, s := range svcs {
		out[s.Namespace+"/"+s.Name] = s
	}
	return out
}

// ErrNoService says a backend's Service does not exist (yet).
var ErrNoService = errors.New("no such Service")

// Resolve finds port (a number or a name) of Service namespace/name: its cluster IP and
// port number, or its external name for an ExternalName Service (Knative's placeholder
// Services are such). The port speaks h2c when its appProtocol says so (kubernetes.io/h2c,
// h2c) or, without one, when it is named h2c, http2 or grpc, as Knative names them.
func (s Services) Resolve(namespace, name string, port intstr.IntOrString) (Backend, error) {
	b := Backend{Namespace: namespace, Name: name, Port: port.String()}
	svc := s[namespace+"/"+name]
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
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		return b, errors.New("headless Service: kfup's ingress routes to a cluster IP")
	}
	b.Address = net.JoinHostPort(ip, strconv.Itoa(int(sp.Port)))
	if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
		return b, fmt.Errorf("port %s is %s, not TCP", port.String(), sp.Protocol)
	}
	switch ap := ptrString(sp.AppProtocol); {
	case ap == "kubernetes.io/h2c" || ap == "h2c":
		b.H2C = true
	case ap == "":
		n := strings.ToLower(sp.Name)
		b.H2C = n == "h2c" || n == "http2" || n == "grpc" || strings.HasPrefix(n, "http2-") || strings.HasPrefix(n, "grpc-")
	}
	return b, nil
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
