package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
)

func TestIngress(t *testing.T) {
	in := isvc(servingv1beta1.PredictorSpec{XGBoost: &servingv1beta1.PredictorExtensionSpec{StorageURI: ptr.To("pvc://models/x")}})
	children, err := Desired(in, builtin(t, KfupRuntime), StorageInit{})
	if err != nil {
		t.Fatal(err)
	}
	s := IngressSettings{Class: "kfup", Domain: "kfup.localhost"}
	hosts := func(children []Children) map[string]string {
		ing := Ingress(in, children, s)
		if ing == nil {
			return nil
		}
		out := map[string]string{}
		for _, r := range ing.Spec.Rules {
			out[r.Host] = r.HTTP.Paths[0].Backend.Service.Name
		}
		return out
	}
	ns := in.Namespace
	if diff := cmp.Diff(map[string]string{
		in.Name + "-" + ns + ".kfup.localhost":           in.Name + "-predictor",
		in.Name + "-predictor-" + ns + ".kfup.localhost": in.Name + "-predictor",
	}, hosts(children)); diff != "" {
		t.Errorf("predictor only (-want +got):\n%s", diff)
	}
	// a transformer takes the InferenceService's own host, listed after the predictor or not
	tr := Children{Component: servingv1beta1.TransformerComponent, Service: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: in.Name + "-transformer"}},
		Deployment: &appsv1.Deployment{}}
	for _, cs := range [][]Children{append(children, tr), append([]Children{tr}, children...)} {
		if got := hosts(cs)[in.Name+"-"+ns+".kfup.localhost"]; got != in.Name+"-transformer" {
			t.Errorf("top host goes to %s, want the transformer", got)
		}
	}
	for name, s := range map[string]IngressSettings{"no class": {Domain: "kfup.localhost"}, "no domain": {Class: "kfup"}} {
		if ing := Ingress(in, children, s); ing != nil {
			t.Errorf("%s: an Ingress %+v", name, ing)
		}
	}
	local := in.DeepCopy()
	local.Labels = map[string]string{VisibilityLabel: VisibilityClusterLocal}
	if ing := Ingress(local, children, s); ing != nil {
		t.Errorf("cluster-local: an Ingress %+v", ing)
	}

	// the status: the external URL, Ready only once the ingress serves it
	avail := &appsv1.Deployment{Status: appsv1.DeploymentStatus{Replicas: 1, AvailableReplicas: 1, ReadyReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}}}
	o := Observed{Children: children, Deployments: map[servingv1beta1.ComponentType]*appsv1.Deployment{servingv1beta1.PredictorComponent: avail}}
	cond := func(st servingv1beta1.InferenceServiceStatus, typ servingv1beta1.ConditionType) servingv1beta1.Condition {
		for _, c := range st.Conditions {
			if c.Type == typ {
				return c
			}
		}
		return servingv1beta1.Condition{}
	}
	st := Status(in, o, metav1.Now())
	if cond(st, servingv1beta1.Ready).Status != corev1.ConditionTrue || st.URL != "http://"+in.Name+"-predictor."+ns+".svc.cluster.local" {
		t.Fatalf("without an Ingress: url %q, conditions %+v", st.URL, st.Conditions)
	}
	o.Ingress = &RoutedIngress{URL: "http://" + s.Host(in, "")}
	st = Status(in, o, metav1.Now())
	if c := cond(st, servingv1beta1.IngressReady); c.Status != corev1.ConditionFalse || c.Reason != ReasonIngressNotServed {
		t.Errorf("not served: IngressReady %+v", c)
	}
	if cond(st, servingv1beta1.Ready).Status == corev1.ConditionTrue || st.URL != "http://"+in.Name+"-"+ns+".kfup.localhost" {
		t.Errorf("not served: url %q, conditions %+v", st.URL, st.Conditions)
	}
	o.Ingress.Served = true
	st = Status(in, o, metav1.Now())
	if cond(st, servingv1beta1.Ready).Status != corev1.ConditionTrue || cond(st, servingv1beta1.IngressReady).Status != corev1.ConditionTrue ||
		st.Address.URL != "http://"+in.Name+"-predictor."+ns+".svc.cluster.local" {
		t.Errorf("served: url %q address %+v, conditions %+v", st.URL, st.Address, st.Conditions)
	}
}
