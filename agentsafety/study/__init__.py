"The study: its configuration, cached stages, the runner, the paper notebook and the trajectory viewer."
