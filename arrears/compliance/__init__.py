"""The compliance guard (issue #4).

This first slice is the pure core: frozen inputs describing one proposed contact
(`inputs`), every contact-time rule of the catalogue as a plain function (`rules`), and
the policy packs as data with the combining `evaluate` (`packs`). Nothing here imports
Django or touches the database, so a stored decision can be replayed exactly.
"""
