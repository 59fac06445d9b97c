"""What every layer stands on: the data directory's paths, the one configuration block
(`vars.chw`), the warehouse connection on either engine, and the extract contract."""
