"""The build's stages, in the order :func:`localprofile.build.build_profile` composes them.

Each stage is a function from values to values; what it chose automatically comes back with
its result as ``choices`` (``Choice(what, value, why)``), so the profile records every choice
once, with the stage that made it:

1. :func:`~localprofile.stages.audience.audience_policy` - who the profile is for, what is read
2. :func:`~localprofile.stages.inputs.load_inputs` - every catalog layer through its adapter
3. :func:`~localprofile.stages.place.place_crimes` - the district, crimes on its LSOAs
4. :func:`~localprofile.stages.scale.choose_scale` - cell size, bandwidths, grid (``backtest`` too)
5. :func:`~localprofile.stages.lsoa_base.lsoa_base` - LSOAs with population and deprivation
6. :func:`~localprofile.stages.methods.plan_methods` - thresholds, LISA weights, time steps, harm
7. :func:`~localprofile.stages.theme.analyse_theme` - one theme's counts, surfaces, hotspots
8. :func:`~localprofile.stages.context.context_layers` - points, LSOA tables, rasters
9. :func:`~localprofile.stages.assemble.assemble_profile` - the Profile the renderers write
"""
