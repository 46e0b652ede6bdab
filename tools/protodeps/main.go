// Command protodeps prints buf/validate/validate.proto from the descriptor
// that protovalidate's Go package registers, so that buf can import it
// offline. The source text is rebuilt from the descriptor (comments are
// lost); it is written to a git-ignored folder, never committed.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/jhump/protoreflect/desc"
	"github.com/jhump/protoreflect/desc/protoprint"
	"google.golang.org/protobuf/reflect/protoregistry"
)

const validateProto = "buf/validate/validate.proto"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: protodeps OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "protodeps:", err)
		os.Exit(1)
	}
}

func run(outDir string) error {
	fd, err := protoregistry.GlobalFiles.FindFileByPath(validateProto)
	if err != nil {
		return err
	}
	wrapped, err := desc.WrapFile(fd)
	if err != nil {
		return err
	}
	path := filepath.Join(outDir, validateProto)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := (&protoprint.Printer{}).PrintProtoFile(wrapped, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
