package policy

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// Who owns an object that has the name of one of a job's children (a pod, a service, an
// extra such as MPI's ConfigMap, the PodGroup). A job creates its children, or adopts
// those that say they are its own, and touches nothing else:
//
//   - the job is its controller: it is the job's child (the cache may not have shown it yet);
//   - it has no controller, carries every one of the job's labels (JobLabels: operator
//     name and job name) and is not being deleted: an orphan of an earlier job of that
//     name (deleted with --cascade=orphan), which the job adopts, as upstream does;
//   - it is being deleted, or its controller is an earlier job of the same kind and name
//     (another UID) whose children the garbage collector has yet to remove: the job waits;
//   - anything else (a user's ConfigMap "app-config" beside an MPIJob "app", a pod of
//     another controller or of none, without the job's labels): it is someone else's. The
//     job fails with ReasonResourceExists naming the object, which is never updated,
//     adopted or deleted.

// ReasonResourceExists fails a job one of whose children's names is taken by an object
// that is not the job's (upstream's ErrResourceExists).
const ReasonResourceExists = "ResourceExists"

// Ownership is what a job may do with an existing object of one of its children's names.
type Ownership int

// Ownerships, see above.
const (
	// Owned: the job controls the object.
	Owned Ownership = iota
	// Adoptable: an orphan with the job's labels; the job becomes its controller.
	Adoptable
	// Pending: being deleted, or left by an earlier job of the same name; wait.
	Pending
	// Foreign: someone else's; the job fails and the object is left alone.
	Foreign
)

// OwnershipOf says what the job of kind (name, uid) may do with obj, an existing object
// of one of its children's names; jobLabels are the labels every child of the job carries.
func OwnershipOf(obj metav1.Object, kind, name string, uid types.UID, jobLabels map[string]string) Ownership {
	ctrl := metav1.GetControllerOfNoCopy(obj)
	switch {
	case ctrl != nil && ctrl.UID == uid:
		return Owned
	case obj.GetDeletionTimestamp() != nil:
		return Pending
	case ctrl != nil && isJobRef(ctrl, kind, name):
		return Pending
	case ctrl == nil && hasLabels(obj.GetLabels(), jobLabels):
		return Adoptable
	}
	return Foreign
}

// isJobRef says whether ref points at a kubeflow.org job of kind called name.
func isJobRef(ref *metav1.OwnerReference, kind, name string) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == trainingv1.GroupVersion.Group && ref.Kind == kind && ref.Name == name
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ResourceExistsMessage is the Failed condition's message for a job (kind, name) whose
// child kind objKind called objName is taken by obj: who holds it, and what to do.
func ResourceExistsMessage(kind, name, objKind string, obj metav1.Object) string {
	holder := "it has no controller and not the job's labels"
	if c := metav1.GetControllerOfNoCopy(obj); c != nil {
		holder = fmt.Sprintf("its controller is %s %s", c.Kind, c.Name)
	}
	return fmt.Sprintf("%s %s cannot run: %s %s already exists and is not the job's (%s); kfup neither changes nor deletes it: delete or rename that %s, or give the job another name",
		kind, name, objKind, obj.GetName(), holder, objKind)
}
