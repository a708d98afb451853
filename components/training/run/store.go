package run

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Archives live in the cluster as ConfigMaps, content-addressed: chunk i of the archive
// with digest sha256:abcdef012345... is the ConfigMap kfup-run-src-abcdef012345-i, its
// bytes under binaryData "chunk". A ConfigMap holds at most 1 MiB (the API server's
// limit on one object in etcd is 1.5 MiB); ChunkSize leaves room for the metadata. Each
// chunk is owned — a plain, non-controller owner reference — by every job that uses
// it, so Kubernetes' garbage collector deletes it with the last of them.

// ChunkSize is the most bytes of an archive in one ConfigMap.
const ChunkSize = 900 << 10

// Chunks is how many ConfigMaps an archive of n bytes takes.
func Chunks(n int) int { return max(1, (n+ChunkSize-1)/ChunkSize) }

// Upload is what EnsureArchive did.
type Upload struct {
	// Created are the ConfigMaps it made; none when the archive was in the cluster.
	Created []string
	// BytesSent counts the archive bytes sent to the API server.
	BytesSent int64
	// Names are all of the archive's ConfigMaps, in order.
	Names []string
}

// Reused says the archive was in the cluster already and nothing was sent.
func (u *Upload) Reused() bool { return len(u.Created) == 0 }

// ConflictError is a ConfigMap of an archive chunk's name that kfup run did not make, or
// that holds another archive: it is left alone and the run stops.
type ConflictError struct{ Namespace, Name string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("ConfigMap %s/%s exists and is not a chunk of this archive (kfup run makes such ConfigMaps, labelled %s): delete or rename it", e.Namespace, e.Name, ArchiveLabel)
}

// chunkOK says whether cm is chunk i of the n-chunk archive digest, as kfup made it.
func chunkOK(cm *corev1.ConfigMap, digest string, i, n int) bool {
	return cm.Labels[ManagedByLabel] == ManagedBy && cm.Labels[ArchiveLabel] == shortDigest(digest) &&
		cm.Annotations[DigestAnnotation] == digest && cm.Annotations[ChunksAnnotation] == strconv.Itoa(n) &&
		cm.Labels[ChunkLabel] == strconv.Itoa(i)
}

// EnsureArchive makes sure every chunk of the archive (data, with digest) is in namespace
// ns: chunks already there are kept, the others created. A chunk being deleted (its last
// job went) is waited for, then created again.
func EnsureArchive(ctx context.Context, c client.Client, ns, digest string, data []byte) (*Upload, error) {
	n := Chunks(len(data))
	up := &Upload{}
	for i := range n {
		name := ChunkName(digest, i)
		up.Names = append(up.Names, name)
		cm := &corev1.ConfigMap{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm)
		if err == nil && cm.DeletionTimestamp != nil {
			if err = waitGone(ctx, c, cm); err == nil {
				err = apierrors.NewNotFound(corev1.Resource("configmaps"), name)
			}
		}
		switch {
		case err == nil:
			if !chunkOK(cm, digest, i, n) {
				return up, &ConflictError{Namespace: ns, Name: name}
			}
			continue
		case !apierrors.IsNotFound(err):
			return up, fmt.Errorf("get ConfigMap %s/%s: %w", ns, name, err)
		}
		part := data[i*ChunkSize : min(len(data), (i+1)*ChunkSize)]
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns,
				Labels:      map[string]string{ManagedByLabel: ManagedBy, ArchiveLabel: shortDigest(digest), ChunkLabel: strconv.Itoa(i)},
				Annotations: map[string]string{DigestAnnotation: digest, ChunksAnnotation: strconv.Itoa(n)},
			},
			BinaryData: map[string][]byte{ChunkKey: part},
			Immutable:  ptrTrue(),
		}
		if err := c.Create(ctx, cm); err != nil {
			return up, fmt.Errorf("create ConfigMap %s/%s: %w", ns, name, err)
		}
		up.Created = append(up.Created, name)
		up.BytesSent += int64(len(part))
	}
	return up, nil
}

func ptrTrue() *bool { t := true; return &t }

func waitGone(ctx context.Context, c client.Client, obj client.Object) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// AddOwner makes job an owner (not the controller) of each ConfigMap named, so that the
// garbage collector deletes them with their last job.
func AddOwner(ctx context.Context, c client.Client, ns string, names []string, job client.Object) error {
	gvk := GVK(KindName(job))
	ref := metav1.OwnerReference{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: job.GetName(), UID: job.GetUID()}
	for _, name := range names {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm := &corev1.ConfigMap{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
				return err
			}
			for _, o := range cm.OwnerReferences {
				if o.UID == ref.UID && o.Kind == ref.Kind && o.Name == ref.Name {
					return nil
				}
			}
			cm.OwnerReferences = append(cm.OwnerReferences, ref)
			return c.Update(ctx, cm)
		})
		if err != nil {
			return fmt.Errorf("make %s %s an owner of ConfigMap %s: %w", gvk.Kind, job.GetName(), name, err)
		}
	}
	return nil
}

// DeleteUnowned deletes the ConfigMaps named that no job owns (made for a run whose job
// was never created).
func DeleteUnowned(ctx context.Context, c client.Client, ns string, names []string) error {
	for _, name := range names {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		if len(cm.OwnerReferences) > 0 || cm.Labels[ManagedByLabel] != ManagedBy || cm.Labels[ArchiveLabel] == "" {
			continue
		}
		if err := c.Delete(ctx, cm, client.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// OrphanAge is how old an archive ConfigMap without owners must be for
// DeleteOrphans: younger ones may belong to a run that is creating its job right now.
const OrphanAge = 10 * time.Minute

// DeleteOrphans deletes kfup run's archive ConfigMaps in ns that no job owns and that are
// older than OrphanAge: left by a kfup run killed between sending its archive and
// creating its job. It returns how many it deleted.
func DeleteOrphans(ctx context.Context, c client.Client, ns string, now time.Time) (int, error) {
	var list corev1.ConfigMapList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{ManagedByLabel: ManagedBy}, client.HasLabels{ArchiveLabel}); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		cm := &list.Items[i]
		if len(cm.OwnerReferences) > 0 || now.Sub(cm.CreationTimestamp.Time) < OrphanAge {
			continue
		}
		if err := c.Delete(ctx, cm, client.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}); err != nil && !apierrors.IsNotFound(err) {
			return n, err
		}
		n++
	}
	return n, nil
}
