// Package ingress is the host side of kfup's own ingress: the install component of the
// kfup-ingress proxy (kfup agent ingress, from the manager's image) on the node ports the
// host's HTTP and HTTPS ingress ports reach, its Services, the IngressClass kfup, and the
// ingress slice whose controller (components/ingress/controller, in the manager) programs
// the proxy. No Envoy, no Istio, no sidecar.
package ingress

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/ingress/proxy"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/profiles"
)

// Names of the component and of what it installs.
const (
	Name = profiles.Ingress
	// AppName names the proxy's Deployment, ServiceAccount and RBAC, and its external
	// Service (the KIngress public load balancer).
	AppName = "kfup-ingress"
	// InternalService is the cluster-local Service (every route, cluster-local ones too).
	InternalService = AppName + "-internal"
	// AdminService fronts the proxy's admin port (health, the table it serves).
	AdminService = AppName + "-admin"
	// Namespace is the manager's: the proxy runs from its image.
	Namespace = manager.Namespace
	// ControllerName is the IngressClass's spec.controller.
	ControllerName = "kfup.dev/ingress"
	// NodePort is the node port of the external Service: the one kfup's kind config maps
	// the host's HTTP ingress port to.
	NodePort = 31080
	// TLSNodePort is the external Service's HTTPS node port, which kfup's kind config
	// maps the host's HTTPS ingress port to.
	TLSNodePort = 31443
)

// Container ports of the proxy.
const (
	ExternalPort    = 8080
	InternalPort    = 8081
	AdminPort       = 8082
	ExternalTLSPort = 8443
)

// Component installs kfup's ingress: the host side of the ingress slice (components.API).
type Component struct {
	// Binary is the kfup binary of the manager image (manager.ResolveBinary when empty).
	Binary string
}

var (
	_ components.API       = Component{}
	_ components.ImageUser = Component{}
)

// WithBinary returns the component building the manager image from binary.
func (c Component) WithBinary(binary string) components.API { c.Binary = binary; return c }

// Name returns "ingress".
func (Component) Name() string { return Name }

// DependsOn returns nothing: like every API slice it installs before the manager that
// hosts its controller (it loads the manager image itself, manager.EnsureImage).
func (Component) DependsOn() []string { return nil }

// Images returns the manager image, which the proxy runs.
func (c Component) Images(env *components.Env) ([]string, error) {
	img, err := manager.RunningImage(env, c.Binary)
	if err != nil {
		return nil, err
	}
	return []string{img}, nil
}

// CRDs returns none: Ingress is built in, and KIngress is Knative's own CRD.
func (Component) CRDs() []string { return nil }

// AddToScheme registers Knative's KIngress type.
func (Component) AddToScheme(s *runtime.Scheme) error { return kingressv1alpha1.AddToScheme(s) }

// ManagerArgs are --ingress-knative when Knative is enabled on kfup's ingress
// (components.knative.ingress=kfup) and --ingress-serve-namespace for
// components.ingress.namespaces; otherwise the controller's defaults name this
// component's objects.
func (c Component) ManagerArgs(env *components.Env) []string {
	var args []string
	if k := env.Config().Components.Knative; k.Enabled && k.Ingress != profiles.KnativeIngressIstio {
		args = append(args, "--ingress-knative")
	}
	if ns := c.Namespaces(env); len(ns) > 0 {
		args = append(args, "--ingress-serve-namespace="+strings.Join(ns, ","))
	}
	return args
}

// Namespaces returns components.ingress.namespaces: those whose Ingresses (and
// KIngresses) are served; none is every namespace.
func (Component) Namespaces(env *components.Env) []string {
	return env.Config().Components.Ingress.NamespaceList()
}

// Objects returns what the component applies, the proxy running image; httpsPort is the
// host's HTTPS ingress port, which redirects to HTTPS name (0: 443).
func Objects(image string, pull corev1.PullPolicy, httpsPort int) ([]*unstructured.Unstructured, error) {
	if httpsPort == 0 {
		httpsPort = 443
	}
	labels := map[string]string{"app.kubernetes.io/name": AppName, "app.kubernetes.io/part-of": "kfup"}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels}
	}
	port := func(name string, p int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: p, TargetPort: intstr.FromString(name), Protocol: corev1.ProtocolTCP}
	}
	external := port("http", 80)
	external.NodePort = NodePort
	external.TargetPort = intstr.FromString("external")
	externalTLS := port("https", 443)
	externalTLS.NodePort = TLSNodePort
	externalTLS.TargetPort = intstr.FromString("external-tls")
	internal := port("http", 80)
	internal.TargetPort = intstr.FromString("internal")
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("admin")}},
			PeriodSeconds: 2, FailureThreshold: 3}
	}
	objs := []client.Object{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(AppName)},
		// It reads the one ConfigMap the controller publishes the routes in, and the one
		// Secret of their certificates.
		&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta(AppName),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{proxy.DefaultCertsSecret}, Verbs: []string{"get", "list", "watch"}},
			}},
		&rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta(AppName),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: AppName},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: AppName, Namespace: Namespace}}},
		&appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta(AppName),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": AppName}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"sidecar.istio.io/inject": "false"}},
					Spec: corev1.PodSpec{
						ServiceAccountName:            AppName,
						TerminationGracePeriodSeconds: ptr.To[int64](30),
						// On the one node of a kind cluster, whatever its taints.
						Tolerations: []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
						SecurityContext: &corev1.PodSecurityContext{
							RunAsNonRoot:   ptr.To(true),
							RunAsUser:      ptr.To[int64](65532),
							RunAsGroup:     ptr.To[int64](65532),
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						Containers: []corev1.Container{{
							Name:            "proxy",
							Image:           image,
							ImagePullPolicy: pull,
							// kfup-ingress: the proxy's own binary in the manager image, or a link
							// to kfup, which runs `kfup agent ingress` by that name
							Command: []string{"/" + manager.IngressBinary},
							Args: []string{"--namespace=" + Namespace, "--configmap=" + proxy.DefaultRoutesConfigMap, "--certs-secret=" + proxy.DefaultCertsSecret,
								fmt.Sprintf("--external-addr=:%d", ExternalPort), fmt.Sprintf("--external-tls-addr=:%d", ExternalTLSPort),
								fmt.Sprintf("--internal-addr=:%d", InternalPort), fmt.Sprintf("--admin-addr=:%d", AdminPort),
								fmt.Sprintf("--https-port=%d", httpsPort)},
							Ports: []corev1.ContainerPort{
								{Name: "external", ContainerPort: ExternalPort, Protocol: corev1.ProtocolTCP},
								{Name: "external-tls", ContainerPort: ExternalTLSPort, Protocol: corev1.ProtocolTCP},
								{Name: "internal", ContainerPort: InternalPort, Protocol: corev1.ProtocolTCP},
								{Name: "admin", ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP},
							},
							ReadinessProbe: probe("/readyz"),
							LivenessProbe:  probe("/healthz"),
							Resources: corev1.ResourceRequirements{
								Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
								Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
							},
							SecurityContext: &corev1.SecurityContext{
								AllowPrivilegeEscalation: ptr.To(false),
								ReadOnlyRootFilesystem:   ptr.To(true),
								Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							},
						}},
					},
				},
			},
		},
		&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta(AppName),
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app.kubernetes.io/name": AppName},
				Ports: []corev1.ServicePort{external, externalTLS}}},
		&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta(InternalService),
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/name": AppName}, Ports: []corev1.ServicePort{internal}}},
		&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta(AdminService),
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/name": AppName}, Ports: []corev1.ServicePort{port("admin", AdminPort)}}},
		&networkingv1.IngressClass{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "IngressClass"},
			ObjectMeta: metav1.ObjectMeta{Name: proxy.IngressClass, Labels: labels},
			Spec:       networkingv1.IngressClassSpec{Controller: ControllerName}},
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return components.ToUnstructured(scheme, objs...)
}

// Install makes the manager image available to the nodes, then applies the proxy, its
// Services and RBAC, and the IngressClass kfup.
func (c Component) Install(ctx context.Context, env *components.Env) error {
	if err := manager.EnsureNamespaces(ctx, env.Client, []string{Namespace}); err != nil {
		return err
	}
	img, err := manager.EnsureImage(ctx, env, c.Binary)
	if err != nil {
		return err
	}
	objs, err := Objects(img, manager.PullPolicy(env.Config().Components.Manager.Registry), env.IngressHTTPSPort)
	if err != nil {
		return err
	}
	return components.Apply(ctx, env.Client, Name, objs)
}

// Ready waits for the proxy's Deployment to be available (it is ready once it has read
// the routes ConfigMap).
func (Component) Ready(ctx context.Context, env *components.Env) error {
	return components.WaitDeployments(ctx, env.Client, Namespace, AppName)
}

// SmokePath is the path of the smoke test's route: the proxy's admin port answers it.
const SmokePath = proxy.SmokePath

// Smoke routes a request end to end: an Ingress of class kfup sends the exact path
// SmokePath (any host) to the proxy's own admin port; once its status says the proxy
// serves it, a request through the proxy's cluster-local Service (reached through the API
// server) must come back from the admin port. The Ingress is deleted afterwards.
func (Component) Smoke(ctx context.Context, env *components.Env) error {
	ing := SmokeIngress()
	if err := env.Client.Create(ctx, ing); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the smoke Ingress: %w", err)
	}
	defer func() {
		_ = env.Client.Delete(context.WithoutCancel(ctx), ing)
	}()
	var why string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		var got networkingv1.Ingress
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ing), &got); err != nil {
			why = err.Error()
			return false, nil
		}
		if len(got.Status.LoadBalancer.Ingress) == 0 {
			why = "the controller has not reported the route served"
			return false, nil
		}
		cs, err := kubernetes.NewForConfig(env.REST)
		if err != nil {
			return false, err
		}
		body, err := cs.CoreV1().Services(Namespace).ProxyGet("http", InternalService, "80", SmokePath, nil).Stream(ctx)
		if err != nil {
			why = "GET " + SmokePath + " through the proxy: " + err.Error()
			return false, nil
		}
		defer body.Close()
		b, _ := io.ReadAll(io.LimitReader(body, 1024))
		if strings.TrimSpace(string(b)) != "ok" {
			why = fmt.Sprintf("GET %s through the proxy answered %q", SmokePath, b)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ingress: %s: %w", why, err)
	}
	return nil
}

// SmokeIngress is the smoke test's Ingress.
func SmokeIngress() *networkingv1.Ingress {
	exact := networkingv1.PathTypeExact
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "kfup-smoke-ingress", Namespace: Namespace},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(proxy.IngressClass),
			Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: SmokePath, PathType: &exact, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: AdminService, Port: networkingv1.ServiceBackendPort{Number: AdminPort}},
				}}},
			}}}},
		},
	}
}

// Uninstall deletes what Install applied; the routes ConfigMap and the certificates
// Secret, owned by the IngressClass kfup, go with it (the garbage collector's work).
func (Component) Uninstall(ctx context.Context, env *components.Env) error {
	objs, err := Objects(manager.ImageRepo+":unused", corev1.PullNever, 0)
	if err != nil {
		return err
	}
	return components.Delete(ctx, env.Client, objs)
}
