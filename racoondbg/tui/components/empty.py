"""What a view says when the evidence it shows was not given (or its parser is not installed)."""

from __future__ import annotations

from textual.widgets import Static

#: How to obtain each kind of evidence (the coverage panel and the empty views say it).
HOW_TO_GET = {
    "conf": "racoon.conf (usually /etc/racoon/racoon.conf or /usr/local/etc/racoon/racoon.conf)",
    "spd": "the kernel's policies: `setkey -DP > spd.txt` (Linux also `ip xfrm policy > spd.txt`)",
    "sad": "the kernel's SAs: `setkey -D > sad.txt` (Linux also `ip xfrm state > sad.txt`)",
    "script": "the setkey script that installs the policies (`setkey -f` file, e.g. /etc/ipsec-tools.conf)",
    "log": "a racoon log: run `racoon -F -dd -l /tmp/racoon.log`, or give the syslog lines of racoon",
    "pcap": "a capture of the IKE traffic: `tcpdump -i any -s0 -w ike.pcap udp port 500 or udp port 4500`",
    "certs": "the certificate directory named by `path certificate` in racoon.conf",
    "psk": "psk.txt, named by `path pre_shared_key` in racoon.conf",
    "host": "the live host: run `racoondbg diagnose` on the machine itself",
}


class EmptyState(Static, can_focus=True):
    """``No SPD/SAD evidence loaded.`` and how to get it (focusable, so the view holds the keyboard)."""

    def __init__(self, what: str, parts: tuple[str, ...], *, id: str | None = None) -> None:
        how = "\n".join(f"  • {HOW_TO_GET[p]}" for p in parts)
        super().__init__(f"No {what} evidence loaded. Give racoondbg:\n{how}", classes="empty", id=id, markup=False)
