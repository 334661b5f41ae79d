// Command barehttp is the load test's baseline: a fasthttp server that
// answers every request with 202 and does nothing else, so scripts/load can
// report Shade's throughput as a ratio of what the server library alone does
// on the same machine under the same load generator.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to listen on")
	flag.Parse()
	err := fasthttp.ListenAndServe(*listen, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusAccepted)
		ctx.SetBodyString("ok")
	})
	if err != nil {
		log.Fatal(err)
	}
}
