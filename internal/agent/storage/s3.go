package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// defaultS3Region is the region signed for when AWS_REGION is unset (MinIO and most
// S3-compatible stores accept it).
const defaultS3Region = "us-east-1"

// s3Settings are the S3 client's settings, read from the environment KServe's controller
// gives the storage initializer from a service account's annotated secret.
type s3Settings struct {
	endpoint     string // "" for AWS's own
	region       string
	keyID        string
	secret       string
	verifySSL    bool
	virtualHost  bool
	caBundle     string
	sessionToken string
}

func readS3Settings(o Options) s3Settings {
	s := s3Settings{
		region:       o.getenv("AWS_REGION"),
		keyID:        o.getenv("AWS_ACCESS_KEY_ID"),
		secret:       o.getenv("AWS_SECRET_ACCESS_KEY"),
		sessionToken: o.getenv("AWS_SESSION_TOKEN"),
		verifySSL:    !isFalse(o.getenv("S3_VERIFY_SSL")),
		virtualHost:  isTrue(o.getenv("S3_USER_VIRTUAL_BUCKET")),
		caBundle:     o.getenv("AWS_CA_BUNDLE"),
	}
	if s.region == "" {
		s.region = o.getenv("AWS_DEFAULT_REGION") // KServe's controller sets this one
	}
	if s.region == "" {
		s.region = defaultS3Region
	}
	s.endpoint = o.getenv("AWS_ENDPOINT_URL")
	if s.endpoint == "" {
		s.endpoint = o.getenv("S3_ENDPOINT")
	}
	if s.endpoint != "" && !strings.Contains(s.endpoint, "://") {
		scheme := "https://"
		if isFalse(o.getenv("S3_USE_HTTPS")) {
			scheme = "http://"
		}
		s.endpoint = scheme + s.endpoint
	}
	return s
}

func isFalse(v string) bool { return v == "0" || strings.EqualFold(v, "false") }
func isTrue(v string) bool  { return v == "1" || strings.EqualFold(v, "true") }

// credentials says which credentials were used, for error messages (never the secret).
func (s s3Settings) credentials() string {
	if s.keyID == "" || s.secret == "" {
		return "anonymous (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set)"
	}
	id := s.keyID
	if len(id) > 4 {
		id = id[:4] + "…"
	}
	return "access key " + id + " from AWS_ACCESS_KEY_ID"
}

func (s s3Settings) where() string {
	if s.endpoint == "" {
		return "AWS S3 in " + s.region
	}
	return s.endpoint
}

// newS3Client builds the client for s; its HTTP client is o's unless TLS settings differ.
func newS3Client(s s3Settings, o Options) (*s3.Client, error) {
	hc := o.client()
	if !s.verifySSL || s.caBundle != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !s.verifySSL} //nolint:gosec // S3_VERIFY_SSL=0 asks for it, as KServe
		if s.caBundle != "" {
			pem, err := os.ReadFile(s.caBundle)
			if err != nil {
				return nil, fmt.Errorf("read AWS_CA_BUNDLE: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("AWS_CA_BUNDLE %s holds no PEM certificate", s.caBundle)
			}
		}
		hc = &http.Client{Transport: newTransport(tc)}
	}
	opts := s3.Options{
		Region:                     s.region,
		HTTPClient:                 hc,
		UsePathStyle:               s.endpoint != "" && !s.virtualHost,
		RetryMaxAttempts:           3,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if s.endpoint != "" {
		opts.BaseEndpoint = aws.String(s.endpoint)
	}
	if s.keyID != "" && s.secret != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(s.keyID, s.secret, s.sessionToken)
	} else {
		opts.Credentials = aws.AnonymousCredentials{}
	}
	return s3.New(opts), nil
}

// downloadS3 copies the objects under s3://bucket/prefix (the object itself when the
// prefix names one) into the model directory, as KServe's _download_s3.
func downloadS3(ctx context.Context, uri, rest string, w *writer, o Options) error {
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return fmt.Errorf("storageUri %q names no bucket: use s3://<bucket>/<path>", uri)
	}
	s := readS3Settings(o)
	c, err := newS3Client(s, o)
	if err != nil {
		return fmt.Errorf("%s: %w", uri, err)
	}
	fail := func(err error) error { return s3Error(uri, bucket, s, err) }
	n := 0
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fail(err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			rel, ok := objectPath(key, prefix)
			if !ok {
				continue
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return fail(err)
			}
			err = w.create(rel, out.Body)
			out.Body.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", uri, err)
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: no objects found under prefix %q in bucket %s at %s", uri, prefix, bucket, s.where())
	}
	return nil
}

// s3Error names what went wrong talking to S3: a missing bucket, credentials refused
// (and which were tried), an endpoint that cannot be reached.
func s3Error(uri, bucket string, s s3Settings, err error) error {
	var re *awshttp.ResponseError
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 { // 0: no response came
		switch st := re.HTTPStatusCode(); {
		case code == "NoSuchBucket" || (st == 404 && code != "NoSuchKey"):
			return fmt.Errorf("%s: bucket %s not found at %s", uri, bucket, s.where())
		case code == "NoSuchKey":
			return fmt.Errorf("%s: object not found at %s", uri, s.where())
		case st == 401 || st == 403:
			c := code
			if c == "" {
				c = http.StatusText(st)
			}
			return fmt.Errorf("%s: %d %s at %s with %s: give the InferenceService's service account a secret with the right keys (annotated serving.kserve.io/s3-endpoint)", uri, st, c, s.where(), s.credentials())
		default:
			return fmt.Errorf("%s: %d %s at %s", uri, st, code, s.where())
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", uri, err)
	}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		return fmt.Errorf("%s: cannot reach %s: %v", uri, s.where(), unreachableCause(op.Err))
	}
	return fmt.Errorf("%s: %w", uri, err)
}

// unreachableCause is the transport's own words (the dial or DNS error), without the
// SDK's layers of retries.
func unreachableCause(err error) error {
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return dns
	case errors.As(err, &op):
		return op
	}
	return err
}
