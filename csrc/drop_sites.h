/* Hosts whose purpose is to take data from anyone: paste sites, file drops,
 * request catchers, tunnels to a stranger's machine and out-of-band
 * (OAST) catchers.  pipelock's blocklist refuses them even when a bottle's
 * allowlist lets them in (through a wildcard, or by a user who did not know
 * what the name was), and *.name also covers the name itself.
 *
 * Written by hand: neither Debian nor pipelock 2.3.0 ships a maintained list
 * of such services (pipelock's own is the first six, which it applies only
 * without a config file), and the ones kept by security vendors are not
 * packaged.  Chosen from the services' own pages and from write-ups of
 * exfiltration by agents and malware; a name list is never complete, so the
 * allowlist stays the wall and this only narrows what an allowed wildcard
 * or a careless allow lets out.  Left off: hosts that are also ordinary
 * developer services (GitHub gists, Google Drive, Dropbox, S3, httpbin),
 * which a user who allows them means.  A bottle that needs one of these
 * turns the list off with egress.inspection.blocklist: false. */
#ifndef BC_DROP_SITES_H
#define BC_DROP_SITES_H

#include <stddef.h>

static const char *const bc_drop_sites[] = {
   /* pipelock 2.3.0's no-file defaults (internal/config/defaults.go) */
   "*.pastebin.com", "*.hastebin.com", "*.paste.ee", "*.transfer.sh", "*.file.io",
   "*.requestbin.com",
   /* paste sites */
   "*.dpaste.org", "*.dpaste.com", "*.paste.rs", "*.ghostbin.com", "*.ghostbin.co",
   "*.privatebin.net", "*.0bin.net", "*.bpaste.net", "*.rentry.co", "*.rentry.org",
   "*.justpaste.it", "*.controlc.com", "*.pastie.org", "*.termbin.com", "*.ix.io",
   "*.sprunge.us", "*.paste.gg", "*.pastes.dev", "*.katb.in", "*.hst.sh",
   "*.pastebin.pl", "*.pastelink.net", "*.paste2.org", "*.paste.mozilla.org",
   "*.paste.centos.org", "*.paste.ubuntu.com", "*.paste.debian.net",
   "*.dpaste.de", "*.pastebin.fr", "*.paste.sh",
   "*.friendpaste.com", "*.pastecode.io",
   /* file drops */
   "*.0x0.st", "*.tmpfiles.org", "*.gofile.io", "*.pixeldrain.com", "*.catbox.moe",
   "*.uguu.se", "*.filebin.net", "*.bashupload.com", "*.oshi.at", "*.temp.sh",
   "*.keep.sh", "*.anonfiles.com", "*.bayfiles.com", "*.wetransfer.com", "*.we.tl",
   "*.sendspace.com", "*.x0.at", "*.ttm.sh", "*.envs.sh", "*.filetransfer.io",
   "*.mediafire.com", "*.anonymfile.com", "*.easyupload.io",
   "*.files.fm", "*.send.vis.ee", "*.wormhole.app", "*.ufile.io",
   "*.clbin.com", "*.transfer.archivete.am",
   /* request catchers and webhook inspectors */
   "*.requestbin.net", "*.pipedream.net", "*.webhook.site", "*.hookbin.com",
   "*.beeceptor.com", "*.requestcatcher.com", "*.requestrepo.com", "*.mockbin.org",
   "*.mockbin.io", "*.postb.in", "*.ptsv2.com", "*.ptsv3.com", "*.requestinspector.com",
   "*.smee.io", "*.webhook.cool", "*.typedwebhook.tools",
   "*.hookb.in",
   /* tunnels: a public name in front of somebody's own machine */
   "*.ngrok.io", "*.ngrok.app", "*.ngrok-free.app", "*.ngrok.dev", "*.ngrok-free.dev",
   "*.serveo.net", "*.serveousercontent.com", "*.localtunnel.me", "*.loca.lt",
   "*.trycloudflare.com", "*.localhost.run", "*.lhr.life", "*.lhr.rocks",
   "*.pagekite.me", "*.telebit.cloud", "*.telebit.io", "*.bore.pub", "*.loclx.io",
   "*.localxpose.io", "*.tunnelto.dev", "*.pinggy.io", "*.pinggy.link",
   "*.pinggy.online", "*.devtunnels.ms", "*.tunnelmole.net",
   "*.zrok.io", "*.packetriot.net", "*.expose.dev",
   "*.sharedwithexpose.com", "*.ultrahook.com", "*.localto.net",
   /* out-of-band interaction (OAST) and DNS-log catchers */
   "*.oast.pro", "*.oast.live", "*.oast.site", "*.oast.online", "*.oast.fun",
   "*.oast.me", "*.interact.sh", "*.interactsh.com", "*.burpcollaborator.net",
   "*.oastify.com", "*.dnslog.cn", "*.ceye.io", "*.canarytokens.com",
   "*.canarytokens.org", "*.dnslog.link", "*.dnslog.pw", "*.eyes.sh", "*.xss.ht",
   "*.bxss.me", "*.requestbin.cn", "*.dnsbin.zhack.ca", "*.hyuga.co", "*.log4shell.tools",
   /* wildcard DNS: 203.0.113.7.nip.io is any address the agent names */
   "*.xip.io", "*.nip.io", "*.sslip.io",
   NULL
};

#endif
