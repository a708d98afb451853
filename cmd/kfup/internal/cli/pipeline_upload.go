package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/internal/errs"
)

// PipelineUploadOptions are the flags and argument of `kfup pipeline upload`.
type PipelineUploadOptions struct {
	File      string
	Pipeline  string
	Version   string
	Namespace string
}

// NewCmdPipelineUpload returns `kfup pipeline upload FILE`; runF replaces the real run in
// tests.
func NewCmdPipelineUpload(f *Factory, runF func(context.Context, *PipelineUploadOptions) error) *cobra.Command {
	opts := &PipelineUploadOptions{}
	cmd := &cobra.Command{
		Use:   "upload FILE --pipeline NAME",
		Short: "Store a compiled pipeline as a PipelineVersion, to run by name",
		Long: `Check FILE as 'kfup pipeline validate' does, then store it as a PipelineVersion of
Pipeline NAME (created when absent), and print the version's name on stdout. Run it with
'kfup pipeline run --version V'. The version is named --version, by default
NAME-<the first 8 hex digits of the file's SHA-256>, so uploading the same file again
changes nothing. Deleting the Pipeline deletes its versions.

Exit codes: 0 stored (or already there), 2 a bad flag or file, 4 no such file or
cluster, 5 a version of that name holds another pipeline.`,
		Example: `  kfup pipeline upload add_numbers.yaml --pipeline add-numbers
  kfup pipeline run --version add-numbers-3f2a9c1d -p a=1 -p b=2`,
		Args: exactlyOneArg("FILE", "name the compiled pipeline: kfup pipeline upload FILE --pipeline NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Pipeline == "" {
				return errs.Usage("add --pipeline NAME", "--pipeline is required")
			}
			for flag, name := range map[string]string{"--pipeline": opts.Pipeline, "--version": opts.Version} {
				if name == "" {
					continue
				}
				if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
					return errs.Usage("use lowercase letters, digits, '-' and '.'", "%s %q: %s", flag, name, strings.Join(msgs, "; "))
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPipelineUpload(cmd.Context(), newPipelineAPI(f), opts)
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "the pipeline and its versions")
	cmd.Flags().StringVar(&opts.Pipeline, "pipeline", "", "the Pipeline `NAME` to add the version to (required)")
	cmd.Flags().StringVar(&opts.Version, "version", "", "name `V` of the PipelineVersion (default: NAME-<first 8 hex digits of FILE's sha256>)")
	return cmd
}

func runPipelineUpload(ctx context.Context, api *pipelineAPI, opts *PipelineUploadOptions) error {
	cp, err := loadCompiledPipeline(opts.File, api.f.Printer())
	if err != nil {
		return err
	}
	version := opts.Version
	if version == "" {
		version = opts.Pipeline + "-" + cp.Sum[:8]
		if msgs := validation.IsDNS1123Subdomain(version); len(msgs) > 0 {
			return errs.Usage("pass a shorter --pipeline, or --version", "version name %q: %s", version, strings.Join(msgs, "; "))
		}
	}
	c, _, err := api.connect(ctx)
	if err != nil {
		return err
	}
	info := cp.Pipeline.Spec.PipelineInfo
	pl := &pipelinesv2beta1.Pipeline{}
	err = c.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.Pipeline}, pl)
	if apierrors.IsNotFound(err) {
		pl = &pipelinesv2beta1.Pipeline{
			ObjectMeta: metav1.ObjectMeta{Namespace: opts.Namespace, Name: opts.Pipeline},
			Spec:       pipelinesv2beta1.PipelineSpec{DisplayName: info.DisplayName, Description: info.Description},
		}
		if err = c.Create(ctx, pl); err == nil {
			api.f.Printer().Infof("Created pipeline %s", pl.Name)
		} else if apierrors.IsAlreadyExists(err) {
			err = c.Get(ctx, client.ObjectKeyFromObject(pl), pl)
		}
	}
	if err != nil {
		return apiError(err, "pipeline "+opts.Pipeline)
	}
	v := &pipelinesv2beta1.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Namespace: opts.Namespace, Name: version},
		Spec: pipelinesv2beta1.PipelineVersionSpec{
			DisplayName:  info.DisplayName,
			Description:  info.Description,
			PipelineName: opts.Pipeline,
			PipelineSpec: *cp.Spec,
			PlatformSpec: cp.Platform,
		},
	}
	// The version goes with its pipeline.
	if err := controllerutil.SetOwnerReference(pl, v, c.Scheme()); err != nil {
		return err
	}
	err = c.Create(ctx, v)
	if apierrors.IsAlreadyExists(err) {
		old := &pipelinesv2beta1.PipelineVersion{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(v), old); err != nil {
			return apiError(err, "get PipelineVersion "+version)
		}
		if old.Spec.PipelineName != opts.Pipeline || !sameJSON(old.Spec.PipelineSpec.Raw, cp.Spec.Raw) || !samePlatform(old.Spec.PlatformSpec, cp.Platform) {
			return errs.New(errs.KindConflict, "pick another --version (or leave it out: the default names the file's contents)",
				"PipelineVersion %s/%s exists and holds another pipeline (versions are immutable)", opts.Namespace, version)
		}
		api.f.Printer().Infof("PipelineVersion %s is already uploaded", version)
		err = nil
	} else if err == nil {
		api.f.Printer().Infof("Uploaded version %s of pipeline %s", version, opts.Pipeline)
	}
	if err != nil {
		return apiError(err, "create PipelineVersion "+version)
	}
	fmt.Fprintln(api.f.IO.Out, version)
	return nil
}

// sameJSON reports whether a and b hold the same JSON value, the server's re-encoding
// (key order, spacing) aside; empty means null.
func sameJSON(a, b []byte) bool {
	var x, y any
	if len(a) > 0 && json.Unmarshal(a, &x) != nil {
		return false
	}
	if len(b) > 0 && json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func samePlatform(a, b *runtime.RawExtension) bool {
	var ra, rb []byte
	if a != nil {
		ra = a.Raw
	}
	if b != nil {
		rb = b.Raw
	}
	return sameJSON(ra, rb)
}
