package policy_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kfup/kfup/components/training/controller/policy"
)

func TestOwnershipOf(t *testing.T) {
	jobLabels := map[string]string{"training.kubeflow.org/operator-name": "mpijob-controller", "training.kubeflow.org/job-name": "app"}
	ctrl := func(apiVersion, kind, name, uid string) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: k8stypes.UID("0000-" + uid), Controller: ptr.To(true)}
	}
	plus := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range jobLabels {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	now := metav1.Now()
	cases := []struct {
		name string
		meta metav1.ObjectMeta
		want policy.Ownership
	}{
		{"controlled by the job", metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{ctrl("kubeflow.org/v1", "MPIJob", "app", "job")}}, policy.Owned},
		{"controlled by the job, no labels (an older kfup's ConfigMap)", metav1.ObjectMeta{Labels: map[string]string{"app": "app"},
			OwnerReferences: []metav1.OwnerReference{ctrl("kubeflow.org/v1", "MPIJob", "app", "job")}}, policy.Owned},
		{"orphan with the job's labels", metav1.ObjectMeta{Labels: plus(map[string]string{"extra": "kept"})}, policy.Adoptable},
		{"orphan with the job's labels and a non-controller owner", metav1.ObjectMeta{Labels: jobLabels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "0000-x"}}}, policy.Adoptable},
		{"no owner, no labels (a user's ConfigMap)", metav1.ObjectMeta{}, policy.Foreign},
		{"no owner, only the app label", metav1.ObjectMeta{Labels: map[string]string{"app": "app"}}, policy.Foreign},
		{"no owner, the job name of another job", metav1.ObjectMeta{Labels: map[string]string{
			"training.kubeflow.org/operator-name": "mpijob-controller", "training.kubeflow.org/job-name": "other"}}, policy.Foreign},
		{"another controller, the job's labels", metav1.ObjectMeta{Labels: jobLabels,
			OwnerReferences: []metav1.OwnerReference{ctrl("apps/v1", "ReplicaSet", "rs", "rs")}}, policy.Foreign},
		{"a job of another kind and the same name", metav1.ObjectMeta{Labels: jobLabels,
			OwnerReferences: []metav1.OwnerReference{ctrl("kubeflow.org/v1", "PyTorchJob", "app", "other")}}, policy.Foreign},
		{"a job of another group, same kind and name", metav1.ObjectMeta{
			OwnerReferences: []metav1.OwnerReference{ctrl("example.com/v1", "MPIJob", "app", "other")}}, policy.Foreign},
		{"an earlier job of the same kind and name", metav1.ObjectMeta{
			OwnerReferences: []metav1.OwnerReference{ctrl("kubeflow.org/v1", "MPIJob", "app", "earlier")}}, policy.Pending},
		{"being deleted", metav1.ObjectMeta{DeletionTimestamp: &now, Labels: jobLabels}, policy.Pending},
		{"a foreign object being deleted", metav1.ObjectMeta{DeletionTimestamp: &now}, policy.Pending},
	}
	for _, tc := range cases {
		obj := &corev1.ConfigMap{ObjectMeta: tc.meta}
		obj.Name = "app-config"
		if got := policy.OwnershipOf(obj, "MPIJob", "app", "0000-job", jobLabels); got != tc.want {
			t.Errorf("%s: OwnershipOf = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestResourceExistsMessage(t *testing.T) {
	cases := []struct {
		name string
		meta metav1.ObjectMeta
		want []string
	}{
		{"no controller", metav1.ObjectMeta{Name: "app-config"},
			[]string{"MPIJob app cannot run: ConfigMap app-config already exists and is not the job's (it has no controller and not the job's labels)", "delete or rename that ConfigMap, or give the job another name"}},
		{"another controller", metav1.ObjectMeta{Name: "app-config", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: ptr.To(true)}}},
			[]string{"(its controller is ReplicaSet rs)"}},
	}
	for _, tc := range cases {
		msg := policy.ResourceExistsMessage("MPIJob", "app", "ConfigMap", &corev1.ConfigMap{ObjectMeta: tc.meta})
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", tc.name, msg, w)
			}
		}
	}
}
