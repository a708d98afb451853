package manager

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
)

// The admission webhooks the hosted API slices serve in the manager
// (components.ManagerWebhook): one Service, one serving certificate, one
// ValidatingWebhookConfiguration.
const (
	// WebhookService fronts the manager's webhook port.
	WebhookService = AppName + "-webhook"
	// WebhookSecret holds the webhook's CA (ca.crt) and serving pair (tls.crt, tls.key).
	WebhookSecret = AppName + "-webhook-tls"
	// WebhookConfiguration is the ValidatingWebhookConfiguration listing every webhook.
	WebhookConfiguration = AppName
	// WebhookPort is the manager container's webhook port.
	WebhookPort = 9443
	// webhookCertDir is where the manager's container sees WebhookSecret.
	webhookCertDir = "/etc/kfup/webhook"
	// certLifetime is how long a generated certificate is valid; Install makes a new
	// pair once less than certRenewBefore is left.
	certLifetime    = 10 * 365 * 24 * time.Hour
	certRenewBefore = 365 * 24 * time.Hour
)

// webhookHost is the name the API server dials: the Service's in-cluster DNS name.
func webhookHost() string { return WebhookService + "." + Namespace + ".svc" }

// WebhookCert is a CA and a serving pair for the webhook Service, PEM encoded.
type WebhookCert struct {
	CA, Cert, Key []byte
}

// NewWebhookCert makes a new CA and, signed by it, a serving certificate for the
// webhook Service's DNS names, valid from now for certLifetime (ECDSA P-256).
func NewWebhookCert(now time.Time) (*WebhookCert, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial := func() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) }
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: "kfup-manager-webhook-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if sn, err = serial(); err != nil {
		return nil, err
	}
	host := webhookHost()
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: host},
		DNSNames:  []string{WebhookService, WebhookService + "." + Namespace, host, host + ".cluster.local"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &WebhookCert{
		CA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// Check says why c cannot serve the webhook Service until at least `until`, or nil: the
// pair must match, and the certificate chain to the CA for the Service's name.
func (c *WebhookCert) Check(until time.Time) error {
	pair, err := tls.X509KeyPair(c.Cert, c.Key)
	if err != nil {
		return fmt.Errorf("tls.crt and tls.key: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("tls.crt: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.CA) {
		return errors.New("ca.crt holds no certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: webhookHost(), Roots: roots, CurrentTime: until}); err != nil {
		return fmt.Errorf("tls.crt for %s on %s: %w", webhookHost(), until.Format(time.DateOnly), err)
	}
	return nil
}

// EnsureWebhookCert returns the webhook's certificate from WebhookSecret, creating the
// Secret, or renewing the pair in it when it would not verify a year from now. A Secret
// of that name that kfup did not make is refused, never overwritten.
func EnsureWebhookCert(ctx context.Context, c client.Client, now time.Time) (*WebhookCert, error) {
	got := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: WebhookSecret}, got)
	switch {
	case apierrors.IsNotFound(err):
		got = nil
	case err != nil:
		return nil, fmt.Errorf("read Secret %s/%s: %w", Namespace, WebhookSecret, err)
	case got.Labels[components.LabelComponent] != Name:
		return nil, fmt.Errorf("Secret %s/%s exists and is not kfup's: kfup keeps its admission webhook's certificate there; delete or rename it", Namespace, WebhookSecret)
	default:
		have := &WebhookCert{CA: got.Data["ca.crt"], Cert: got.Data[corev1.TLSCertKey], Key: got.Data[corev1.TLSPrivateKeyKey]}
		if have.Check(now.Add(certRenewBefore)) == nil {
			return have, nil
		}
	}
	cert, err := NewWebhookCert(now)
	if err != nil {
		return nil, fmt.Errorf("make the admission webhook's certificate: %w", err)
	}
	data := map[string][]byte{"ca.crt": cert.CA, corev1.TLSCertKey: cert.Cert, corev1.TLSPrivateKeyKey: cert.Key}
	if got == nil {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: WebhookSecret, Namespace: Namespace, Labels: map[string]string{components.LabelComponent: Name}},
			Type:       corev1.SecretTypeTLS, Data: data,
		}
		if err := c.Create(ctx, s); err != nil {
			return nil, fmt.Errorf("create Secret %s/%s: %w", Namespace, WebhookSecret, err)
		}
		return cert, nil
	}
	// renewing: the resourceVersion read above guards against a concurrent install
	got.Data = data
	if err := c.Update(ctx, got); err != nil {
		return nil, fmt.Errorf("renew the certificate in Secret %s/%s: %w", Namespace, WebhookSecret, err)
	}
	return cert, nil
}

// webhookObjects are the Service and the ValidatingWebhookConfiguration of s.Webhooks
// (none without webhooks).
func webhookObjects(s Settings, labels map[string]string) []client.Object {
	if len(s.Webhooks) == 0 {
		return nil
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookService, Namespace: Namespace, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "webhook", Port: 443, TargetPort: intstr.FromString("webhook")}},
		},
	}
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookConfiguration, Labels: labels}}
	for _, w := range s.Webhooks {
		vw := admissionregistrationv1.ValidatingWebhook{
			Name: w.Name,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service:  &admissionregistrationv1.ServiceReference{Namespace: Namespace, Name: WebhookService, Path: ptr.To(w.Path), Port: ptr.To[int32](443)},
				CABundle: bytes.Clone(s.WebhookCA),
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{w.Group}, APIVersions: []string{w.Version}, Resources: w.Resources,
					Scope: ptr.To(admissionregistrationv1.NamespacedScope),
				},
			}},
			// an object the manager cannot check is refused: the manager would fail it anyway
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](10),
		}
		if len(w.Namespaces) > 0 {
			vw.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: w.Namespaces,
			}}}
		}
		cfg.Webhooks = append(cfg.Webhooks, vw)
	}
	return []client.Object{svc, cfg}
}

// pruneWebhooks deletes the webhook Service and configuration when no hosted slice has
// webhooks any more (each only if kfup's): a configuration left behind would send every
// create of those kinds to a manager that no longer answers.
func pruneWebhooks(ctx context.Context, c client.Client) error {
	var problems []error
	for _, obj := range []client.Object{
		&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookConfiguration}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: WebhookService, Namespace: Namespace}},
	} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			if !apierrors.IsNotFound(err) {
				problems = append(problems, err)
			}
			continue
		}
		if obj.GetLabels()[components.LabelComponent] != Name {
			continue
		}
		if err := c.Delete(ctx, obj, client.Preconditions{UID: ptr.To(obj.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
			problems = append(problems, fmt.Errorf("delete %T %s: %w", obj, obj.GetName(), err))
		}
	}
	return errors.Join(problems...)
}

// webhookUnreachable says whether err is the API server failing to call a webhook (as
// opposed to the webhook answering).
func webhookUnreachable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "failed calling webhook")
}

// waitWebhooks dry-runs each webhook's probe object until the API server reaches the
// webhook through its Service: the manager's readiness comes a moment before the
// Service's endpoints and the node's proxy rules, and a user's first create must not
// meet "connection refused". A probe the webhook refuses is an error at once.
func waitWebhooks(ctx context.Context, c client.Client, hooks []components.ManagerWebhook) error {
	for _, w := range hooks {
		if w.Probe == nil {
			continue
		}
		ns := "default"
		if len(w.Namespaces) > 0 {
			ns = w.Namespaces[0]
		}
		var last error
		err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			last = c.Create(ctx, w.Probe(ns), client.DryRunAll)
			switch {
			case last == nil:
				return true, nil
			case webhookUnreachable(last):
				return false, nil
			default:
				return false, fmt.Errorf("admission webhook %s refused its probe: %w", w.Name, last)
			}
		})
		if err != nil {
			if last != nil && webhookUnreachable(last) {
				return fmt.Errorf("admission webhook %s not reachable through Service %s/%s: %w", w.Name, Namespace, WebhookService, last)
			}
			return err
		}
	}
	return nil
}
