"""The yearly processes, one module per submodel of docs/ODD.md ("Process overview
and scheduling"), in the order ``LandUseModel.step`` calls them:

=====================  ==============================================================
module                 submodel
=====================  ==============================================================
``roads``              the year's scheduled road segments built (roads only)
``settlers``           in-migration along roads: lots claimed, farmers added
``prices``             price expectations from the recent price history
``survey``             what each farmer knows of its land (:class:`FarmSurvey`)
``learning``           social learning from neighbours' adoption
``labour``             household, hired and off-farm labour, the marginal wage
``valuation``          net present value per ha of each option
``constraints``        how much land each option could change (labour, savings, land)
``choice``             the logit choices: abandoning (stage 1), one land-use change (2)
``land_change``        the chosen changes applied to explicit cells
``income``             production, income and savings
``soil``               soil fertility and soil organic carbon
``biomass``            biomass carbon and the year's fluxes
=====================  ==============================================================

Each is a set of functions of the state they read (the landscape, the farmers, the
scenario) and return what they compute; none holds the model.
"""
