package run

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// TestEnsureArchiveSendsOnce: an archive of 2.5 chunks goes into 3 ConfigMaps whose
// bytes join to the archive; sent again, nothing is created or sent; each job using it
// becomes an owner.
func TestEnsureArchiveSendsOnce(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(scheme(t)).Build()
	data := bytes.Repeat([]byte("0123456789"), ChunkSize/4) // 2.5 chunks
	up, err := EnsureArchive(ctx, c, "ml", digest, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Created) != 3 || up.BytesSent != int64(len(data)) || up.Reused() {
		t.Fatalf("first upload %+v", up)
	}
	var joined []byte
	for i, name := range up.Names {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "ml", Name: name}, cm); err != nil {
			t.Fatal(err)
		}
		if name != ChunkName(digest, i) || cm.Labels[ArchiveLabel] != "0123456789ab" || cm.Annotations[ChunksAnnotation] != "3" || !*cm.Immutable || len(cm.BinaryData[ChunkKey]) > ChunkSize {
			t.Errorf("chunk %d: %+v", i, cm.ObjectMeta)
		}
		joined = append(joined, cm.BinaryData[ChunkKey]...)
	}
	if !bytes.Equal(joined, data) {
		t.Error("the chunks do not join to the archive")
	}
	again, err := EnsureArchive(ctx, c, "ml", digest, data)
	if err != nil || !again.Reused() || again.BytesSent != 0 || len(again.Names) != 3 {
		t.Fatalf("second upload %+v %v", again, err)
	}
	for _, uid := range []string{"job-a", "job-b", "job-a"} {
		job := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: uid, Namespace: "ml", UID: k8stypes.UID("uid-" + uid)}}
		if err := AddOwner(ctx, c, "ml", up.Names, job); err != nil {
			t.Fatal(err)
		}
	}
	cm := &corev1.ConfigMap{}
	c.Get(ctx, client.ObjectKey{Namespace: "ml", Name: up.Names[2]}, cm)
	if len(cm.OwnerReferences) != 2 || cm.OwnerReferences[0].Kind != "PyTorchJob" || cm.OwnerReferences[0].APIVersion != "kubeflow.org/v1" || cm.OwnerReferences[0].Controller != nil {
		t.Errorf("owners %+v", cm.OwnerReferences)
	}
	// owned chunks are not deleted as unowned
	if err := DeleteUnowned(ctx, c, "ml", up.Names); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ml", Name: up.Names[0]}, cm); err != nil {
		t.Errorf("an owned chunk went: %v", err)
	}
}

// TestEnsureArchiveLeavesForeignConfigMaps: a ConfigMap of a chunk's name that kfup run
// did not make stops the upload and is not changed.
func TestEnsureArchiveLeavesForeignConfigMaps(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ChunkName(digest, 0), Namespace: "ml"}, Data: map[string]string{"k": "v"}}
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(theirs).Build()
	_, err := EnsureArchive(ctx, c, "ml", digest, []byte("data"))
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Name != theirs.Name {
		t.Fatalf("error %v", err)
	}
	got := &corev1.ConfigMap{}
	c.Get(ctx, client.ObjectKeyFromObject(theirs), got)
	if got.Data["k"] != "v" || len(got.Labels) != 0 {
		t.Errorf("their ConfigMap changed: %+v", got)
	}
	if err := DeleteUnowned(ctx, c, "ml", []string{theirs.Name}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(theirs), got); err != nil {
		t.Errorf("their ConfigMap was deleted: %v", err)
	}
}

// TestDeleteOrphans deletes unowned archive ConfigMaps older than OrphanAge, only.
func TestDeleteOrphans(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	cm := func(name string, age time.Duration, owned bool) *corev1.ConfigMap {
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", CreationTimestamp: metav1.NewTime(now.Add(-age)),
			Labels: map[string]string{ManagedByLabel: ManagedBy, ArchiveLabel: "x"}}}
		if owned {
			c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: "j", UID: "u"}}
		}
		return c
	}
	old, young, owned := cm("old", time.Hour, false), cm("young", time.Minute, false), cm("owned", time.Hour, true)
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "user", Namespace: "ml", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}}
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(old, young, owned, other).Build()
	n, err := DeleteOrphans(ctx, c, "ml", now)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	for _, o := range []*corev1.ConfigMap{young, owned, other} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), &corev1.ConfigMap{}); err != nil {
			t.Errorf("%s deleted: %v", o.Name, err)
		}
	}
}
