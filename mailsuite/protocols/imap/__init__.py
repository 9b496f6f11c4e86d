"""The IMAP4rev1 server.

Layers (imports point down only):

* ``wire``: sans-IO. ``Framer.feed(bytes)`` yields ``CommandBytes`` (one
  command, literals inline), ``NeedLiteral`` (send ``responses.continuation()``
  when ``synchronizing``), and limit events (answer with
  ``responses.framing_error(event)``; close after ``InputOverflow`` or a fatal
  ``LiteralTooLarge``). ``responses``/``data``/``fetchrender`` build every
  reply byte-exact. An APPEND literal over the spool threshold is not inline:
  it goes to the ``LiteralSink`` given as ``Framer(spool=...)`` and
  ``CommandBytes.spooled`` maps its offset to it (pass both to
  ``parse_command``; close the command's spools when it is done).
* ``spool``: ``AppendSpool`` makes those sinks, private nameless files under
  ``[server] state_dir``/imap-spool.
* ``commands``: ``parse_command(cmd.data, cmd.spooled)`` gives a frozen command object, a
  ``BadCommand`` (send ``bad.response()``) or None (empty line). Lines read
  while IDLE or AUTHENTICATE wait are not commands: use ``is_idle_done``,
  ``is_sasl_cancel`` and ``decode_sasl`` on ``CommandBytes.data`` instead.
* ``selected``: ``SelectedView`` turns store snapshots into EXISTS, EXPUNGE
  (or VANISHED) and FETCH updates; ``expunge_allowed_during(cmd)`` says when
  expunges may be announced (RFC 3501 7.4.1).
"""
