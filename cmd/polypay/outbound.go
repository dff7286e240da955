package main

import (
	"flag"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/outbound"
)

// outboundFlags adds the operator's exceptions to the outbound policy
// (see package outbound). Each flag may be repeated or list several
// values separated by commas.
func outboundFlags(fs *flag.FlagSet, cfg *gateway.Config) {
	fs.Func("allow-webhook-net", "CIDR[,CIDR...] of loopback or private addresses live webhook endpoints may reach (test endpoints reach them all; link-local, e.g. cloud metadata, never)",
		func(s string) error {
			nets, err := outbound.ParseNets(s)
			cfg.AllowWebhookNets = append(cfg.AllowWebhookNets, nets...)
			return err
		})
	channelHostFlag(fs, &cfg.AllowChannelHosts)
}

// channelHostFlag adds --allow-channel-host, collecting into hosts.
func channelHostFlag(fs *flag.FlagSet, hosts *[]string) {
	fs.Func("allow-channel-host", "host[:port][,...] live channel credentials may name (gateway, base_url, file_url) besides the channels' own hosts, e.g. an egress proxy",
		func(s string) error {
			h, err := outbound.ParseHosts(s)
			*hosts = append(*hosts, h...)
			return err
		})
}
