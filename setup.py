"""Package metadata comes from settings.ini, the single place nbdev and pip both read."""
from configparser import ConfigParser
from pathlib import Path
import shutil
import setuptools
from setuptools.command.build_py import build_py

cfg = ConfigParser(delimiters=['='])
cfg.read(Path(__file__).parent/'settings.ini', encoding='utf-8')
c = cfg['DEFAULT']
requirements = c.get('requirements', '').split()
dev_requirements = c.get('dev_requirements', '').split()
extras = {k[:-len('_requirements')]: c[k].split() for k in c if k.endswith('_requirements') and k not in ('requirements', 'dev_requirements')} # optional extras: `ray`, `smol`
scripts = [s.strip() for s in c.get('console_scripts', '').split('\n') if s.strip()]
readme = Path(__file__).parent/'README.md'
NOTEBOOKS = ('paper.ipynb', 'explore.ipynb') # the study's notebooks, shipped as `agentsafety/notebooks/` (`agentsafety.study.paper.NOTEBOOKS`)

class BuildPy(build_py):
    "Build the package with the study's notebooks from `nbs/` inside it, so an installed package runs the study too."
    def run(self):
        super().run()
        dest = Path(self.build_lib)/c['lib_path']/'notebooks'
        dest.mkdir(parents=True, exist_ok=True)
        for name in NOTEBOOKS: shutil.copyfile(Path(__file__).parent/'nbs'/name, dest/name)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [str(Path(self.build_lib)/c['lib_path']/'notebooks'/n) for n in NOTEBOOKS]

setuptools.setup(
    name=c['lib_name'], version=c['version'], description=c['description'],
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else '',
    long_description_content_type='text/markdown',
    author=c['author'], author_email=c['author_email'], license=c['license'].upper(),
    url=c['git_url'], keywords=c['keywords'].split(), python_requires=f">={c['min_python']}",
    packages=setuptools.find_packages(include=[c['lib_name'], f"{c['lib_name']}.*"]),
    include_package_data=True, zip_safe=False,
    install_requires=requirements, extras_require={'dev': dev_requirements + extras.get('ray', []), **extras}, # the dev environment tests the ray executor
    entry_points={'console_scripts': scripts, 'nbdev': [f"{c['lib_path']}={c['lib_path']}._modidx:d"]},
    cmdclass={'build_py': BuildPy},
    classifiers=['Programming Language :: Python :: 3.11',
                 'Intended Audience :: Science/Research'],
)
