package incluster

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/internal/agent/storage"
	"github.com/kfup/kfup/internal/errs"
)

// newCmdAgentStorageInitializer returns `kfup agent storage-initializer URI DEST`, the
// init container of an InferenceService whose storageUri is not pvc://: KServe's
// storage initializer, in Go. A failure is one line on stderr and in the termination
// message, which the serving controller shows on the InferenceService.
func newCmdAgentStorageInitializer(out io.Writer) *cobra.Command {
	o := storage.Options{Log: out}
	var termLog string
	cmd := &cobra.Command{
		Use:   "storage-initializer STORAGE_URI DEST",
		Short: "Copy a model from file://, http(s)://, s3://, gs:// or hf:// into DEST (KServe's storage initializer)",
		Long: `Copy the model at STORAGE_URI into the directory DEST, as KServe's storage initializer:
a file or directory in the pod (file://), one file over http(s):// (.tar.gz, .tgz and .zip
are unpacked, as is a single such object from s3://, gs:// or file://), the objects under an
S3 prefix (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL or S3_ENDPOINT,
S3_USE_HTTPS, S3_VERIFY_SSL, AWS_REGION; anonymous without keys), the public objects under
a GCS prefix, or every file of a Hugging Face Hub model hf://<org>/<model>[:<revision>]
(HF_TOKEN, HF_ENDPOINT).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return errs.Usage("kfup agent storage-initializer s3://bucket/model /mnt/models", "storage-initializer takes a storage URI and a directory")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if err := storage.Download(ctx, args[0], args[1], o); err != nil {
				msg := storage.OneLine(err)
				if termLog != "" {
					_ = os.WriteFile(termLog, []byte(msg), 0o644) // best effort: the message is on stderr too
				}
				return fmt.Errorf("storage initializer: %s", msg)
			}
			fmt.Fprintf(out, "copied %s into %s\n", args[0], args[1])
			return nil
		},
	}
	cmd.SetOut(out)
	cmd.Flags().Int64Var(&o.MaxBytes, "max-bytes", storage.DefaultMaxBytes, "most bytes written, unpacked archives included")
	cmd.Flags().IntVar(&o.MaxFiles, "max-files", storage.DefaultMaxFiles, "most files written, archive entries included")
	cmd.Flags().StringVar(&termLog, "termination-log", "/dev/termination-log", "where the failure's one line goes for the kubelet (empty: nowhere)")
	return cmd
}
