// Package httpapi serves Tencent Cloud CMQ's HTTP "action" API (v2) on fasthttp, in front of
// a queue Backend (*engine.Engine, or a replicated node), so that existing CMQ SDKs work
// unchanged. The protocol reference is /work/shared/cmq-api.md (cited as §n below).
package httpapi
