package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// defaultS3Region is the region signed for when none is set (MinIO and most
// S3-compatible servers accept it).
const defaultS3Region = "us-east-1"

// S3's bounds: one PutObject takes 5 GiB, one object 5 TiB in at most 10000 parts.
const (
	maxS3PutBytes    int64 = 5 << 30
	maxS3ObjectBytes int64 = 5 << 40
	maxParts               = 10_000
)

// defaultPartSize is the part of a multipart upload (and the most a Put of unknown size
// buffers before it knows whether one PutObject will do): 64 MiB.
const defaultPartSize int64 = 64 << 20

// deleteBatch is S3's bound on the keys of one DeleteObjects.
const deleteBatch = 1000

// S3Config configures NewS3.
type S3Config struct {
	// Bucket holds the artifacts.
	Bucket string
	// Prefix is put before every key ("kfup/artifacts": objects kfup/artifacts/<key>);
	// empty for the bucket's top.
	Prefix string
	// Endpoint is the S3-compatible server's URL ("http://minio.minio.svc:9000"); empty
	// for AWS's own. Without a scheme it is https, or http when Insecure.
	Endpoint string
	// Region is signed for (us-east-1 when empty).
	Region string
	// AccessKeyID and SecretAccessKey sign the requests; both empty: anonymous.
	AccessKeyID, SecretAccessKey string
	// UsePathStyle addresses the bucket in the path (http://host/bucket/key), as MinIO
	// wants, not in the host name.
	UsePathStyle bool
	// Insecure makes an Endpoint without a scheme http.
	Insecure bool
}

// S3ConfigFromEnv reads an S3Config from the environment: KFUP_ARTIFACT_S3_BUCKET
// (required), KFUP_ARTIFACT_S3_PREFIX, AWS_ENDPOINT_URL (or S3_ENDPOINT), AWS_REGION
// (us-east-1 when unset), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (both or neither),
// S3_USE_HTTPS=0 for http; path-style addressing when an endpoint is set. getenv is
// os.Getenv when nil.
func S3ConfigFromEnv(getenv func(string) string) (S3Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := S3Config{
		Bucket:          getenv("KFUP_ARTIFACT_S3_BUCKET"),
		Prefix:          getenv("KFUP_ARTIFACT_S3_PREFIX"),
		Endpoint:        getenv("AWS_ENDPOINT_URL"),
		Region:          getenv("AWS_REGION"),
		AccessKeyID:     getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
	}
	if c.Endpoint == "" {
		c.Endpoint = getenv("S3_ENDPOINT")
	}
	if c.Region == "" {
		c.Region = defaultS3Region
	}
	v := getenv("S3_USE_HTTPS")
	c.Insecure = v == "0" || strings.EqualFold(v, "false")
	c.UsePathStyle = c.Endpoint != ""
	switch {
	case c.Bucket == "":
		return S3Config{}, errors.New("KFUP_ARTIFACT_S3_BUCKET is not set: name the bucket that keeps the pipeline artifacts")
	case (c.AccessKeyID == "") != (c.SecretAccessKey == ""):
		return S3Config{}, errors.New("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set both, or neither for anonymous access")
	}
	return c, nil
}

// s3Store keeps key in the object prefix+key of bucket.
type s3Store struct {
	c      *s3.Client
	bucket string
	prefix string // "" or ending in "/"
	where  string // the endpoint, for errors
	creds  string // which credentials sign, for errors (never the secret)

	maxPut   int64 // the largest known size put in one PutObject (maxS3PutBytes)
	partSize int64 // of multipart uploads (defaultPartSize)
}

// NewS3 returns a store of objects in cfg.Bucket under cfg.Prefix; URI(key) is
// "s3://<bucket>/<prefix>/<key>". It makes no request: a wrong bucket or key shows on
// the first call.
func NewS3(ctx context.Context, cfg S3Config) (Store, error) {
	if cfg.Bucket == "" || strings.ContainsAny(cfg.Bucket, "/ ") {
		return nil, fmt.Errorf("s3 store: bucket %q is not a bucket name", cfg.Bucket)
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := ValidKey(prefix); err != nil {
			return nil, fmt.Errorf("s3 store: prefix: %w", err)
		}
		prefix += "/"
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	s := &s3Store{bucket: cfg.Bucket, prefix: prefix, where: "AWS S3 in " + cfg.Region, creds: "anonymous credentials",
		maxPut: maxS3PutBytes, partSize: defaultPartSize}
	opts := s3.Options{
		Region:                     cfg.Region,
		HTTPClient:                 defaultClient(),
		UsePathStyle:               cfg.UsePathStyle,
		RetryMaxAttempts:           3,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Credentials:                aws.AnonymousCredentials{},
	}
	if ep := cfg.Endpoint; ep != "" {
		if !strings.Contains(ep, "://") {
			scheme := "https://"
			if cfg.Insecure {
				scheme = "http://"
			}
			ep = scheme + ep
		}
		if u, err := url.Parse(ep); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("s3 store: endpoint %q is not an http(s) URL", cfg.Endpoint)
		}
		opts.BaseEndpoint = aws.String(ep)
		s.where = ep
	}
	if cfg.AccessKeyID != "" && cfg.SecretAccessKey != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
		id := cfg.AccessKeyID
		if len(id) > 4 {
			id = id[:4] + "…"
		}
		s.creds = "access key " + id
	}
	s.c = s3.New(opts)
	return s, nil
}

func (s *s3Store) URI(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }

func (s *s3Store) Key(uri string) (string, bool) {
	key, ok := strings.CutPrefix(uri, "s3://"+s.bucket+"/"+s.prefix)
	if !ok || ValidKey(key) != nil {
		return "", false
	}
	return key, true
}

func (s *s3Store) object(key string) *string { return aws.String(s.prefix + key) }

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey("put", key); err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("put %s: %w", key, err) }
	switch {
	case size > maxS3ObjectBytes:
		return fail(fmt.Errorf("%d bytes, more than S3's limit of %d for one object", size, maxS3ObjectBytes))
	case size > s.maxPut:
		return s.putParts(ctx, key, r, size)
	case size >= 0:
		if err := s.putObject(ctx, key, r, size); err != nil {
			return fail(err)
		}
		return nil
	}
	// S3 wants each body's length first: buffer up to a part in a file; a body that
	// ends within it is one PutObject, a longer one a multipart upload.
	br := bufio.NewReader(ctxReader{ctx, r})
	f, err := os.CreateTemp("", "kfup-artifact-*")
	if err != nil {
		return fail(fmt.Errorf("buffer the body: %w", err))
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	n, err := fill(f, br, s.partSize)
	if err != nil {
		return fail(fmt.Errorf("buffer the body: %w", err))
	}
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		if err := s.putObject(ctx, key, f, n); err != nil {
			return fail(err)
		}
		return nil
	}
	if err := s.multipart(ctx, key, br, f, n, s.partSize, nil); err != nil {
		return fail(err)
	}
	return nil
}

// putObject is one PutObject of the size bytes of r.
func (s *s3Store) putObject(ctx context.Context, key string, r io.Reader, size int64) error {
	if size == 0 {
		r = strings.NewReader("")
	}
	var optFns []func(*s3.Options)
	if rs, ok := r.(io.ReadSeeker); ok {
		if n, err := seekerLength(rs); err != nil {
			return err
		} else if n != size {
			return fmt.Errorf("body is %d bytes, not the %d announced", n, size)
		}
	} else {
		// A stream cannot be hashed before it is sent, nor sent again: sign without
		// its hash, try once, and fail the request rather than send a body of another
		// length.
		r = newExactReader(r, size)
		optFns = append(optFns, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware),
			func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	}
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           s.object(key),
		Body:          r,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/octet-stream"),
	}, optFns...)
	if err != nil {
		return s.error(err)
	}
	return nil
}

// seekerLength is the number of bytes left in rs, which stays where it was.
func seekerLength(rs io.Seeker) (int64, error) {
	cur, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	_, err = rs.Seek(cur, io.SeekStart)
	return end - cur, err
}

// putParts uploads the size bytes of r, more than one PutObject takes, in parts.
func (s *s3Store) putParts(ctx context.Context, key string, r io.Reader, size int64) error {
	fail := func(err error) error { return fmt.Errorf("put %s: %w", key, err) }
	part := max(s.partSize, (size+maxParts-1)/maxParts)
	f, err := os.CreateTemp("", "kfup-artifact-*")
	if err != nil {
		return fail(fmt.Errorf("buffer a part: %w", err))
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	src := bufio.NewReader(ctxReader{ctx, io.LimitReader(r, size)})
	n, err := fill(f, src, part)
	if err != nil {
		return fail(fmt.Errorf("buffer a part: %w", err))
	}
	whole := func(total int64) error {
		if total < size {
			return fmt.Errorf("body ended after %d of the %d bytes announced: %w", total, size, io.ErrUnexpectedEOF)
		}
		var one [1]byte
		if m, _ := io.ReadFull(r, one[:]); m > 0 {
			return fmt.Errorf("body is longer than the %d bytes announced", size)
		}
		return nil
	}
	if err := s.multipart(ctx, key, src, f, n, part, whole); err != nil {
		return fail(err)
	}
	return nil
}

// multipart uploads the n bytes in f (rewound), then the rest of br a part of partSize
// bytes at a time, as one object; whole (when not nil) checks the total before the
// upload completes. A failure aborts the upload.
func (s *s3Store) multipart(ctx context.Context, key string, br *bufio.Reader, f *os.File, n, partSize int64, whole func(total int64) error) (err error) {
	up, err := s.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: s.object(key), ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return s.error(err)
	}
	defer func() {
		if err == nil {
			return
		}
		// Abort even when ctx is done, or the parts are kept (and billed) until a
		// lifecycle rule removes them.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = s.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: s.object(key), UploadId: up.UploadId})
	}()
	var parts []types.CompletedPart
	var total int64
	for num := int32(1); ; num++ {
		if num > maxParts {
			return fmt.Errorf("more than %d parts of %d bytes", maxParts, partSize)
		}
		out, err := s.c.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(s.bucket), Key: s.object(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(num), Body: f, ContentLength: aws.Int64(n),
		})
		if err != nil {
			return fmt.Errorf("part %d: %w", num, s.error(err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		total += n
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if n, err = fill(f, br, partSize); err != nil {
			return fmt.Errorf("buffer part %d: %w", num+1, err)
		}
	}
	if whole != nil {
		if err := whole(total); err != nil {
			return err
		}
	}
	_, err = s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: s.object(key), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return s.error(err)
	}
	return nil
}

// fill replaces f's content with at most limit bytes of r and rewinds it.
func fill(f *os.File, r io.Reader, limit int64) (int64, error) {
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(r, limit))
	if err != nil {
		return n, err
	}
	_, err = f.Seek(0, io.SeekStart)
	return n, err
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey("get", key); err != nil {
		return nil, err
	}
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: s.object(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, s.error(err))
	}
	return out.Body, nil
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkKey("list", prefix); err != nil {
		return nil, err
	}
	keys := []string{}
	err := s.objects(ctx, prefix, func(names []string) error {
		for _, n := range names {
			k := strings.TrimPrefix(n, s.prefix)
			if ValidKey(k) != nil {
				continue // a console's "folder/" marker, or an object kfup did not write
			}
			if len(keys) >= maxListKeys {
				return fmt.Errorf("more than %d keys: list a narrower prefix", maxListKeys)
			}
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *s3Store) Delete(ctx context.Context, prefix string) error {
	if err := checkKey("delete", prefix); err != nil {
		return err
	}
	err := s.objects(ctx, prefix, func(names []string) error {
		for len(names) > 0 {
			batch := names[:min(len(names), deleteBatch)]
			names = names[len(batch):]
			ids := make([]types.ObjectIdentifier, len(batch))
			for i, n := range batch {
				ids[i] = types.ObjectIdentifier{Key: aws.String(n)}
			}
			out, err := s.c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: aws.String(s.bucket),
				Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
			})
			if err != nil {
				return s.error(err)
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return fmt.Errorf("%d of %d objects not deleted, the first %s: %s %s", len(out.Errors), len(batch), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", prefix, err)
	}
	return nil
}

// objects calls page with the names of the objects of key (the object itself, found as
// the first of a listing on it, which sorts first) and of those under key+"/", a page
// at a time: never the "key2" siblings beyond one.
func (s *s3Store) objects(ctx context.Context, key string, page func(names []string) error) error {
	name := s.prefix + key
	out, err := s.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(name), MaxKeys: aws.Int32(1)})
	if err != nil {
		return s.error(err)
	}
	if len(out.Contents) > 0 && aws.ToString(out.Contents[0].Key) == name {
		if err := page([]string{name}); err != nil {
			return err
		}
	}
	pages := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(name + "/")})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return s.error(err)
		}
		names := make([]string, 0, len(out.Contents))
		for _, o := range out.Contents {
			if n := aws.ToString(o.Key); strings.HasPrefix(n, name+"/") {
				names = append(names, n)
			}
		}
		if err := page(names); err != nil {
			return err
		}
	}
	return nil
}

// error says what went wrong talking to S3: an absent key (ErrNotFound), a missing
// bucket, credentials refused (and which were tried), a server that cannot be reached.
func (s *s3Store) error(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if be, ok := asBodyError(err); ok {
		return be
	}
	code := ""
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code = ae.ErrorCode()
	}
	if _, ok := errors.AsType[*types.NoSuchKey](err); ok {
		code = "NoSuchKey"
	}
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok && re.HTTPStatusCode() != 0 {
		switch st := re.HTTPStatusCode(); {
		case code == "NoSuchBucket":
			return fmt.Errorf("bucket %s not found at %s", s.bucket, s.where)
		case code == "NoSuchKey" || code == "NotFound" || (st == http.StatusNotFound && code == ""):
			return ErrNotFound
		case st == http.StatusUnauthorized || st == http.StatusForbidden:
			if code == "" {
				code = http.StatusText(st)
			}
			return fmt.Errorf("%d %s at %s for bucket %s with %s", st, code, s.where, s.bucket, s.creds)
		default:
			if code == "" {
				code = http.StatusText(st)
			}
			return fmt.Errorf("%d %s at %s", st, code, s.where)
		}
	}
	if dns, ok := errors.AsType[*net.DNSError](err); ok {
		return fmt.Errorf("cannot reach %s: %w", s.where, dns)
	}
	if ne, ok := errors.AsType[*net.OpError](err); ok {
		return fmt.Errorf("cannot reach %s: %w", s.where, ne)
	}
	return err
}
