"""Maps for notebooks: ``dc.maps.explore(city, layers=[...])`` and ``dc.maps.choropleth(...)``.

folium maps in the catalog's colours that work offline; see ``digitalcity.web.folium_maps``.
"""

from digitalcity.web.folium_maps import choropleth, explore, offline

__all__ = ["choropleth", "explore", "offline"]
