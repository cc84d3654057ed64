"""The broken-config corpus: one mistake per case, reported at the exact line and column with a hint.

Every error must also leave the rest of the file parsed (recovery at the next statement).
"""

from __future__ import annotations

import pytest
from racoondbg.parsers.racoon_conf import parse_text

from racoondbg.model.conf import ConfSyntaxError

# name: (config text, line, column, words the message must contain, words the hint must contain or None)
CORPUS: dict[str, tuple[str, int, int, str, str | None]] = {
    "missing_semicolon_path": ('path certificate "/etc/racoon/certs"\nlog notify;\n',
                               1, 37, 'missing ";" at the end of the `path` statement', "every statement ends"),
    "missing_semicolon_in_remote": ("remote 192.0.2.7 {\n\texchange_mode main\n\tlifetime time 1 hour;\n}\n",
                                    2, 20, 'missing ";"', "every statement ends"),
    "missing_semicolon_before_comment": (
        "remote 192.0.2.7 {\n\texchange_mode main # primary\n\tlifetime time 1 hour;\n}\n",
        2, 20, 'missing ";" at the end of the `exchange_mode` statement', None),
    "missing_semicolon_in_algorithm_list": (
        "sainfo anonymous {\n\tencryption_algorithm aes, 3des\n\tauthentication_algorithm hmac_sha1;\n"
        "\tcompression_algorithm deflate;\n}\n", 2, 32, "`encryption_algorithm`", None),
    "missing_semicolon_before_close": ("timer {\n\tcounter 5;\n\tinterval 10 sec\n}\n", 3, 17, "`interval`", None),
    "unclosed_block_at_eof": ("log info;\nremote anonymous {\n\texchange_mode main;\n",
                              2, 1, "`remote` block is never closed", 'missing "}"'),
    "unclosed_block_before_sainfo": (
        "remote 198.51.100.7 {\n\texchange_mode main;\n\tproposal {\n\t\tdh_group 2;\n\t}\n"
        "sainfo anonymous {\n\tencryption_algorithm aes;\n}\n",
        1, 1, "`remote` block is not closed before `sainfo` on line 6", "unbalanced braces"),
    "unclosed_proposal": ("remote 198.51.100.7 {\n\texchange_mode main;\n\tproposal {\n\t\tdh_group 2;\n"
                          "\tproposal {\n\t\tdh_group 14;\n\t}\n}\n",
                          3, 2, "`proposal` block is not closed before `proposal` on line 5", "unbalanced braces"),
    "extra_closing_brace": ("padding {\n\tmaximum_length 20;\n}\n}\nlog info;\n", 4, 1, 'unbalanced "}"', "remove it"),
    "stray_semicolon_after_block": ("listen {\n\tisakmp 192.0.2.1 [500];\n};\n", 3, 2, 'stray ";"',
                                    'is not followed by ";"'),
    "unknown_exchange_mode": ("remote anonymous {\n\texchange_mode mian;\n}\n", 2, 16,
                              'unexpected "mian" in `exchange_mode` statement: expected exchange mode', None),
    "host_name_in_remote": ("remote vpn.example.com {\n\texchange_mode main;\n}\n", 1, 8,
                            '"vpn.example.com" is a host name', "never resolves names"),
    "host_name_in_listen": ("listen {\n\tisakmp gw.example.net [500];\n}\n", 2, 9, "host name", "IP address"),
    "unquoted_fqdn_identifier": ("remote 192.0.2.9 {\n\tmy_identifier fqdn gw.example.net;\n}\n", 2, 21,
                                 "host name", "must be quoted"),
    "invalid_ipv4": ("remote 300.1.1.1 {\n\texchange_mode main;\n}\n", 1, 8,
                     'unexpected "300.1.1.1"', None),
    "pfs_group_in_remote": ("remote anonymous {\n\texchange_mode main;\n\tpfs_group 2;\n}\n", 3, 2,
                            'unknown statement "pfs_group" in a `remote` block', "belongs in a `sainfo` block"),
    "hash_outside_proposal": ("remote anonymous {\n\texchange_mode main;\n\thash_algorithm sha1;\n}\n", 3, 2,
                              'unknown statement "hash_algorithm"', "belongs in a `proposal` block"),
    "exchange_mode_in_proposal": ("remote anonymous {\n\tproposal {\n\t\texchange_mode main;\n\t\tdh_group 2;\n"
                                  "\t}\n}\n", 3, 3, "in a `proposal` block", "belongs in a `remote` block"),
    "dh_group_without_value": ("remote anonymous {\n\tproposal {\n\t\tdh_group ;\n\t}\n}\n", 3, 12,
                               "expected DH group", None),
    "lifetime_without_unit": ("sainfo anonymous {\n\tlifetime time 3600;\n}\n", 2, 20, "expected time unit", None),
    "lifetime_unknown_unit": ("sainfo anonymous {\n\tlifetime time 1 day;\n}\n", 2, 18, 'unexpected "day"', None),
    "yes_instead_of_on": ("remote anonymous {\n\tnat_traversal yes;\n}\n", 2, 16, "on | off or force",
                          '"on" or "off"'),
    "unquoted_path": ("path certificate /etc/racoon/certs;\n", 1, 18, "expected quoted string", None),
    "unterminated_string": ('log info;\npath certificate "/etc/racoon/certs;\nlog debug;\n', 2, 18,
                            "unterminated quoted string", "closing"),
    "sainfo_without_protocol": ("sainfo address 10.0.0.0/24 address 10.1.0.0/24 any {\n}\n", 1, 28,
                                "expected upper-layer protocol", None),
    "sainfo_with_one_id": ("sainfo address 10.0.0.0/24 any {\n}\n", 1, 32, "expected the remote id", None),
    "port_with_spaces": ("listen {\n\tisakmp 192.0.2.1 [ 500 ];\n}\n", 2, 19, 'unexpected "["', '"[500]"'),
    "misspelt_top_keyword": ("remtoe 192.0.2.1 {\n\texchange_mode main;\n}\n", 1, 1,
                             'unknown statement "remtoe" at the top level', 'did you mean "remote"?'),
    "ldap_cfg_spelling": ('ldap_cfg {\n\thost "192.0.2.3";\n}\n', 1, 1, '"ldap_cfg"', 'did you mean "ldapcfg"?'),
    "bad_log_level": ("log verbose;\n", 1, 5, "expected log level", None),
    "x509_with_one_file": ('remote anonymous {\n\tcertificate_type x509 "host.crt";\n}\n', 2, 34,
                           "expected quoted string", None),
    "proposal_without_brace": ("remote anonymous {\n\tproposal encryption_algorithm aes;\n}\n", 2, 11,
                               'expected "{" to open the `proposal` block', None),
    "inherit_undefined_parent": ("remote 192.0.2.2 inherit 192.0.2.1 {\n\tpassive on;\n}\n", 1, 26,
                                 "which is not defined above it", "define it earlier"),
    "kame_2000_language": ("policy {\n\tstrength normal;\n}\n", 1, 1, 'unknown statement "policy"', "KAME"),
    "template_placeholder_unquoted": ("remote @PEER_ADDRESS@ {\n\texchange_mode main;\n}\n", 1, 8,
                                      'unexpanded template placeholder "@PEER_ADDRESS@"', "template"),
    "remote_without_block": ("remote 192.0.2.4;\n", 1, 17, 'expected "{" to open the `remote` block', None),
}


def test_the_corpus_has_at_least_25_distinct_mistakes() -> None:
    assert len(CORPUS) >= 25
    assert len({(text) for text, *_ in CORPUS.values()}) == len(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_mistake_is_reported_once_at_the_exact_place(name: str) -> None:
    text, line, column, message, hint = CORPUS[name]
    conf = parse_text(text, "racoon.conf")
    assert [(e.location.line, e.location.column) for e in conf.errors] == [(line, column)], [
        e.one_line() for e in conf.errors]
    err = conf.errors[0]
    assert isinstance(err, ConfSyntaxError) and err.fatal
    assert message in err.message
    if hint is not None:
        assert err.hint is not None and hint in err.hint
    assert err.source_line == text.splitlines()[line - 1]
    caret = err.pretty().splitlines()[2]
    assert caret.index("^") - 4 == len(err.source_line[: column - 1].expandtabs(8))


def test_every_error_is_reported_and_parsing_goes_on() -> None:
    text = "".join(CORPUS[n][0] for n in ("unknown_exchange_mode", "pfs_group_in_remote", "bad_log_level",
                                         "host_name_in_remote", "missing_semicolon_path"))
    text += "sainfo anonymous {\n\tencryption_algorithm aes;\n\tauthentication_algorithm hmac_sha1;\n" \
            "\tcompression_algorithm deflate;\n}\n"
    conf = parse_text(text, "racoon.conf")
    assert [e.location.line for e in conf.errors] == [2, 6, 8, 9, 12]
    assert len(conf.sainfos) == 1 and conf.sainfos[0].location.line == 14
    assert [r.selector.kind for r in conf.remotes] == ["anonymous", "anonymous"]


def test_pretty_shows_line_caret_and_hint() -> None:
    conf = parse_text("remote anonymous {\n\texchange_mode mian;\n}\n", "racoon.conf")
    assert conf.errors[0].pretty() == (
        "racoon.conf:2:16: error: unexpected \"mian\" in `exchange_mode` statement: expected exchange mode "
        "(main, aggressive, base)\n"
        "            exchange_mode mian;\n"
        "                          ^"
    )


def test_garbage_is_bounded() -> None:
    conf = parse_text("x;\n" * 1000, "junk")
    assert len(conf.errors) == 200
