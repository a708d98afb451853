package controller

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/ir"
)

var claimRun = &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "train-1", Namespace: "team-a"}}

func TestCreatePVCClaim(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		p := map[string]any{"access_modes": []any{"ReadWriteOnce"}, "size": "5Gi"}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	gi5 := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   *corev1.PersistentVolumeClaim
		err    string
	}{
		{"suffix, as the SDK's example writes it", base(map[string]any{"pvc_name_suffix": "-my-pvc", "storage_class_name": "standard"}), &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "train-1-my-pvc", Namespace: "team-a"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To("standard"), Resources: corev1.VolumeResourceRequirements{Requests: gi5}},
		}, ""},
		{"a name, every field", base(map[string]any{
			"pvc_name": "shared", "access_modes": []any{"ReadWriteMany", "ReadOnlyMany"}, "volume_name": "pv-1",
			"annotations": map[string]any{"team": "a"}, "data_source": map[string]any{"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"},
		}), &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: "team-a", Annotations: map[string]string{"team": "a"}},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadOnlyMany},
				VolumeName: "pv-1", Resources: corev1.VolumeResourceRequirements{Requests: gi5},
				DataSource: &corev1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"}},
		}, ""},
		{"both names", base(map[string]any{"pvc_name": "a", "pvc_name_suffix": "b"}), nil, "not both"},
		{"no name", base(nil), nil, "set pvc_name or pvc_name_suffix"},
		{"a name that is no object name", base(map[string]any{"pvc_name": "Big_Volume"}), nil, `claim name "Big_Volume"`},
		{"no size", base(map[string]any{"pvc_name": "a", "size": ""}), nil, "input size"},
		{"a bad access mode", base(map[string]any{"pvc_name": "a", "access_modes": []any{"RWX"}}), nil, `"RWX" is not ReadWriteOnce`},
		{"no access mode", base(map[string]any{"pvc_name": "a", "access_modes": []any{}}), nil, "access_modes is empty"},
		{"a name that is not a string", base(map[string]any{"pvc_name": 3.0}), nil, "input pvc_name: 3 is not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CreatePVCClaim(claimRun, tc.params)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("claim (-want +got):\n%s", d)
			}
		})
	}
}

func TestWorkspaceClaim(t *testing.T) {
	got, err := WorkspaceClaim(claimRun, &ir.WorkspaceConfig{Size: "1Gi", Kubernetes: &ir.KubernetesWorkspace{PVCSpecPatch: map[string]any{
		"accessModes": []any{"ReadWriteMany"}, "storageClassName": "standard",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "train-1-kfp-workspace", Namespace: "team-a"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, StorageClassName: ptr.To("standard"),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("claim (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		ws   *ir.WorkspaceConfig
		want string
	}{
		{&ir.WorkspaceConfig{}, "workspace.size is empty"},
		{&ir.WorkspaceConfig{Size: "lots"}, `size "lots" is not a positive size`},
		{&ir.WorkspaceConfig{Size: "1Gi", Kubernetes: &ir.KubernetesWorkspace{PVCSpecPatch: map[string]any{"storageClass": "x"}}}, `pvcSpecPatch: not a PersistentVolumeClaim spec`},
	} {
		if _, err := WorkspaceClaim(claimRun, tc.ws); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.ws, err, tc.want)
		}
	}
}
