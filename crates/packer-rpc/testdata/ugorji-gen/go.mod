module rpcgold

go 1.21

require github.com/ugorji/go/codec v1.2.6
