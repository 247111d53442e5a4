// Every UI string of the map pages, in Chinese and English (one dictionary).
export const STRINGS = {
  zh: {
    plannerTitle: "规划工作图", publicTitle: "公众地图", city: "城市",
    search: "搜索", searchPlaceholder: "地址、地块编号、名称、坐标…",
    lonLat: "经纬度", placeSearched: "搜索的坐标点", pointerCrs: "坐标系 {code}",
    coordinatesHere: "此处坐标", copy: "复制", boundaryPoints: "界址点坐标 TXT", copiedText: "已复制", copyRefused: "请手动复制", searchAddress: "搜索地址…",
    noHits: "未找到结果", switchLang: "切换语言", langButton: "EN",
    signIn: "登录", signOut: "退出", apiKey: "API 密钥", cancel: "取消",
    keyHelp: "输入 API 密钥以查看内部图层；密钥只保存在本浏览器标签页中。",
    badKey: "密钥无效或已撤销", signedIn: "已登录：{role}",
    layers: "图层", legend: "图例", tools: "工具", close: "关闭",
    internal: "内部",
    measureDistance: "量距离", measureArea: "量面积", drawStats: "画区统计",
    finish: "完成", clear: "清除", share: "分享链接", copied: "链接已复制", sharePlace: "分享此地",
    hintDistance: "在地图上单击添加点，双击或点“完成”结束。",
    hintArea: "单击添加多边形顶点，双击或点“完成”结束。",
    hintStats: "画一个多边形（单击添加顶点，双击结束），统计其中的用地、人口和设施。",
    distance: "距离", area: "面积", perimeter: "周长",
    parcel: "地块", parcelId: "地块编号", address: "地址", parcelArea: "地块面积",
    landUse: "土地用途", native: "本地分类", standard1: "国土空间一级类",
    standard2: "国土空间二级类", zoning: "控规分区", controls: "控制指标",
    control: "指标", value: "数值", source: "来源", unknown: "未知",
    far: "容积率", farBuilt: "现状", farMax: "上限",
    status_over: "超出", status_within: "未超出", status_unknown: "未知",
    overlays: "叠加分区", none: "无", nearest: "最近设施", residents400: "400 米内常住人口",
    persons: "人", properties: "全部属性", export: "导出", features: "要素",
    noParcel: "此处没有地块", noFeature: "此处没有要素", loading: "加载中…", error: "出错了：{msg}",
    stats: "区域统计", landuseByClass: "各类用地面积", class: "类别", share_: "占比",
    parcels: "地块数", residents: "常住人口", facilitiesInside: "区内设施", count: "数量",
    facility_school: "学校", facility_fire_station: "消防站", facility_hospital: "医院",
    facility_subway_station: "地铁站", facility_library: "图书馆",
    facility_police_station: "派出所",
    control_max_far: "容积率上限", control_max_far_residential: "住宅容积率上限",
    control_max_height: "限高", control_min_open_space: "最小开敞空间比例",
    other: "其他", note: "说明",
    role_anonymous: "访客", role_planner: "规划人员", role_land_bureau: "土地管理人员",
    role_admin: "管理员",
    edit: "编辑", history: "历史记录", reason: "修改原因", save: "保存", saved: "已保存",
    undoEdit: "撤销", editUndone: "已撤销此次修改。", undoReason: "修改人在地图上撤销",
    reasonNeeded: "请填写修改原因", editConflict: "此要素已被他人修改：请重新打开后再改",
    changeKind_load: "数据导入", changeKind_edit: "编辑", changeKind_revert: "撤销",
    editShape: "修改形状", resetShape: "放弃形状修改",
    shapeHint: "拖动顶点移动它，拖动边中点添加顶点，右击顶点删除它。",
    shapeNotEditable: "此形状不能在地图上修改（带内环或边相交）",
    deleteFeature: "删除要素", confirmDelete: "确认删除", deleted: "已删除",
    restoreVersion: "恢复此版本", confirmRestore: "确认恢复", restored: "已恢复历史版本",
    restoredReason: "恢复 {when} 的版本",
    newFeature: "新建要素", chooseLayer: "在哪个图层新建？", created: "已新建",
    drawHint_polygon: "单击添加顶点，单击第一个顶点闭合图形。",
    drawHint_linestring: "单击添加点，再次单击最后一个点结束。",
    drawHint_point: "在地图上单击放置要素。",
    bulkOpen: "批量修改这 {n} 个要素…", bulkTitle: "批量修改 {n} 个要素", bulkField: "要修改的字段",
    bulkSend: "应用到全部 {n} 个", bulkDone: "已修改 {m} 个匹配要素中的 {n} 个",
    bulkMoved: "匹配的要素已有变化：请重新查询后再改",
    bulkClears: "新值为空：将清空全部 {n} 个要素的该字段。确认请再按一次。",
    snapToNeighbours: "吸附到相邻要素（顶点与相邻要素精确对齐；按住 Alt 键可自由放置）",
    photosAndFiles: "照片与文件", attachments: "附件", attachRecord: "附件记录", attachAddedBy: "{when} 由{who}添加",
    attachRemovedBy: "{when} 由{who}删除", attachAdd: "添加文件（JPEG、PNG、WebP、GIF 图片或 PDF）", attachSend: "上传",
    attachRemove: "移除", attachConfirmRemove: "确认移除", attachNone: "还没有附件。",
    attachTooLarge: "文件太大，超出本图层允许的大小", attachWrongType: "只能上传 JPEG、PNG、WebP、GIF 图片或 PDF 文件",
    historyOf: "#{id} 的历史记录", withSize: "{id}（{size}）",
    splitPartKept: "{id} 保留原编号：{size}（{share}）", splitPartNew: "新要素：{size}（{share}）",
    splitFeature: "沿线分割", mergeFeatures: "与相邻要素合并",
    splitHint: "在地图上画一条完整穿过该要素的线：单击添加点，再次单击最后一个点结束。",
    splitReady: "分割线已画好：最大的一块保留原编号，其余各块成为新要素。",
    splitSend: "分割", splitDone: "已分割为 {n} 块：{ids}",
    noNeighbours: "没有与之共用边界的要素。", mergeWith: "与哪些相邻要素合并",
    mergeKeep: "合并后保留哪个要素的编号和属性", mergeKeepThis: "本要素 #{id}",
    mergeSend: "合并", mergeDone: "已将 {n} 个要素合并为 {id}",
    lineage: "分割与合并", lineageSplit: "{parent} 分割为 {children}",
    lineageMerge: "{parents} 合并为 {child}", lineageReverted: "已撤销",
    asOfDate: "查看某日的地图", compareDay: "卷帘对比某日的地图", now: "当前",
    compareDivider: "拖动分隔线：左侧为当前地图，右侧为对比地图", compareMap: "{day}的地图（对比）",
    compareTheme: "卷帘对比专题", compareNone: "不对比", historySince: "历史记录始于 {day}", compareThemeMap: "{theme}（对比）",
    query: "属性查询", queryLayer: "查询图层", queryField: "字段", queryOp: "条件",
    queryValue: "值", queryCombine: "条件的组合方式", queryAll: "满足全部条件",
    queryAny: "满足任一条件", addCondition: "添加条件", removeCondition: "删除此条件",
    queryWhere: "查询范围", queryScope_city: "全市", queryScope_view: "当前视图",
    queryScope_area: "手绘范围", queryDraw: "画范围", queryRedraw: "重画范围",
    queryAreaDrawn: "已画好范围：查询与之相交的要素。",
    queryDrawHint: "在地图上单击添加范围的顶点，双击或点“完成”结束。",
    queryNeedsArea: "请先在地图上画出查询范围", runQuery: "查询",
    breakdownBy: "按字段分类统计", otherValues: "其他值", noValue: "无值",
    sidePanel: "图层与工具", legendPanel: "图层与图例", cardPanel: "详细信息",
    boundary: "红线核查", boundaryLine: "项目用地红线", boundaryHelp: "打开项目用地红线的文件（CAD 图 DXF、压缩的 Shapefile、GeoPackage、GeoJSON、KML、FlatGeobuf，或界址点坐标 TXT），在地图上显示红线并统计其中的用地、人口和设施。",
    boundaryFile: "红线文件", boundaryCrsInput: "坐标系（文件未注明时填写，如 CAD 图）",
    boundaryCheck: "核查", boundaryNoFile: "请先选择红线文件", boundaryParts: "图形个数",
    boundaryCrs: "读取所用坐标系", boundaryLeftOut: "未采用的要素", boundaryQuery: "查询红线内的要素",
    layersAndTools: "图层与工具",
    boundarySaved: "已保存的核查", boundaryOpen: "打开", boundaryForget: "删除", boundaryForgetAsk: "删除这次保存的核查？链接将失效。",
    boundaryShare: "分享此次核查", boundaryShared: "此次核查的链接（已复制；仅登录的同事可以打开）：",
    boundarySiteGone: "找不到链接中的红线：它已被删除，或需要登录后查看。",
    zoningInside: "所在控规分区", moreZones: "另有 {n} 个分区未列出",
    changes: "最近变更", changes_help: "土地管理部门对本图图层所做的修改和数据更新，最新的在前。点击一条查看改了什么，并在地图上标出。",
    changes_period: "时间范围", changes_days: "最近 {n} 天", changes_subscribe: "订阅（Atom）",
    changes_none: "这段时间内没有变更。", changes_more: "更早的变更", changes_back: "← 全部变更",
    changes_added: "新增 {n} 处", changes_modified: "修改 {n} 处", changes_deleted: "删除 {n} 处",
    changes_one_added: "新增", changes_one_modified: "修改", changes_one_deleted: "删除",
    changes_kind_load: "数据更新", changes_kind_revert: "撤销了一次修改", changes_kind_split: "要素分割", changes_kind_merge: "要素合并",
    changes_reason: "原因：{reason}", changes_empty: "（空）", changes_shape: "形状",
    changes_shapeMoved: "已修改（原形状以灰色虚线表示）", changes_feature: "要素 {id}",
    changes_andMore: "另有 {n} 处未列出", changes_gone: "找不到这次变更",
    changes_compare: "与 {day} 的地图卷帘对比", listSep: "，", role_loader: "数据加载",
    changes_revert: "撤销此次变更", changes_revertReason: "撤销原因（必填）",
    changes_reasonNeeded: "请填写撤销原因", changes_revertConflict: "无法撤销：其中的要素之后又被修改过。请先撤销之后的变更。",
    today: "今天", yesterday: "昨天",
    changes_inView: "只看当前视野", changes_noneInView: "这段时间内当前视野中没有变更。",
    changes_subscribeView: "订阅此范围（Atom）",
    catchments: "步行服务范围",
    quality: "数据质检", quality_help: "检查一个图层的数据错误：重叠、缝隙、重复、无效图形、未接上的线和代码表中没有的代码。错误在地图上以红色标出。",
    quality_layer: "图层", quality_settings: "检查阈值", quality_minArea: "最小重叠或缝隙面积（平方米）",
    quality_maxGap: "最大缝隙面积（平方米）", quality_tolerance: "容差（米）", quality_run: "开始检查",
    quality_running: "正在检查…", quality_badNumber: "请输入不小于 0 的数字：{what}",
    quality_showAll: "显示全部 {n} 处", quality_found: "检查了 {features} 个要素，发现 {n} 处错误。",
    quality_clean: "检查了 {features} 个要素，没有发现错误。", quality_download: "下载错误清单（GeoJSON）",
    quality_pair: "{a} 与 {b}", quality_back: "← 返回质检结果", quality_inView: "当前视野内：", quality_afterEdit: "⚠ 修改后的图形有数据错误：{list}。", quality_showThese: "在地图上标出", quality_legend: "数据错误 {n} 处", quality_listed: "列出其中 {n} 处", quality_show: "在地图上查看", quality_open: "打开要素",
    quality_empty: "缺少图形", quality_empty_help: "要素没有图形，地图上看不到它。",
    quality_invalid: "无效图形", quality_invalid_help: "图形不符合规则（如边界自相交），面积和叠加分析可能出错。",
    quality_duplicate: "重复要素", quality_duplicate_help: "两个要素的图形相同（点：距离小于容差），可能录入了两次。",
    quality_overlap: "重叠", quality_overlap_help: "两个要素的范围相互重叠，同一块地被计算了两次。",
    quality_gap: "缝隙", quality_gap_help: "被要素包围、却不属于任何要素的细小空隙，通常是相邻边界没有对齐。",
    quality_undershoot: "未接上的线", quality_undershoot_help: "线的端点离另一条线很近却没有接上，路网会在此断开。",
    quality_unknown_code: "未知代码", quality_unknown_code_help: "代码不在该图层的代码表（或对照表）中，地图和统计无法归类。",
    totalOf: "合计字段", totalSum: "合计", totalMean: "平均", totalCounted: "{n} 个有值，{nulls} 个无值", clearQuery: "清除查询", and: "至",
    op_eq: "等于", op_ne: "不等于", op_contains: "包含", op_starts: "开头是", op_lt: "小于",
    op_le: "小于等于", op_gt: "大于", op_ge: "大于等于", op_between: "介于", op_null: "为空",
    op_notnull: "不为空", op_true: "为是", op_false: "为否",
    queryMatched: "共 {n} 个要素符合条件。", queryMatchedMore: "至少 {n} 个要素符合条件。",
    queryShown: "地图和列表中为前 {n} 个。", queryNone: "没有符合条件的要素。",
    loadMore: "再加载 {n} 个", zoomToResults: "缩放到结果", backToResults: "← 返回查询结果",
    exportAll: "导出全部结果：", queryRange: "范围 {min} – {max}",
    queryNeedsValue: "“{field}”需要填写一个值", queryBadNumber: "“{field}”需要填写一个数字",
    queryBadDate: "“{field}”需要填写一个日期", sortBy: "按此列排序（再点一次反向）",
    print: "打印地图", printSheet: "打印地图图幅", sheetTitle: "标题", paper: "纸张",
    orientation: "方向", landscape: "横向", portrait: "纵向", format: "格式",
    printDate: "制图日期", north: "北", unitM: "米", unitKm: "千米",
    standardClass: "国土空间用途分类", noLimit: "无上限", status_no_limit: "无上限", whatApplies: "此处适用的规划",
    whatFor: "用途", keyLimits: "主要指标",
    sources_official: "指标来自市政府官方资料。",
    sources_secondary: "指标来自非官方的二手资料，可能有误；请以市政府公布的区划条例为准。",
    sources_mixed: "指标部分来自市政府资料，部分来自二手资料；请以市政府公布的区划条例为准。",
    sources_none: "现有资料未给出本区的指标；请查阅市政府公布的区划条例。",
  },
  en: {
    plannerTitle: "Planner map", publicTitle: "Public map", city: "City",
    search: "Search", searchPlaceholder: "Address, parcel id, name, coordinates…",
    lonLat: "Lon/lat", placeSearched: "Place searched", pointerCrs: "{code} · {name}",
    coordinatesHere: "Coordinates here", copy: "Copy", boundaryPoints: "Boundary points (TXT)", copiedText: "Copied", copyRefused: "Copy it by hand",
    searchAddress: "Search an address…",
    noHits: "Nothing found", switchLang: "Switch language", langButton: "中文",
    signIn: "Sign in", signOut: "Sign out", apiKey: "API key", cancel: "Cancel",
    keyHelp: "Enter an API key to see internal layers; it is kept in this browser tab only.",
    badKey: "Invalid or revoked key", signedIn: "Signed in: {role}",
    layers: "Layers", legend: "Legend", tools: "Tools", close: "Close",
    internal: "internal",
    measureDistance: "Measure distance", measureArea: "Measure area",
    drawStats: "Area statistics", finish: "Finish", clear: "Clear", share: "Share link",
    copied: "Link copied", sharePlace: "Share this place",
    hintDistance: "Click to add points; double-click or press Finish to end.",
    hintArea: "Click to add polygon vertices; double-click or press Finish to end.",
    hintStats: "Draw a polygon (click vertices, double-click to end) for its land use, residents and facilities.",
    distance: "Distance", area: "Area", perimeter: "Perimeter",
    parcel: "Parcel", parcelId: "Parcel id", address: "Address", parcelArea: "Parcel area",
    landUse: "Land use", native: "Local class", standard1: "Standard class (level 1)",
    standard2: "Standard class (level 2)", zoning: "Zoning district", controls: "Controls",
    control: "Control", value: "Value", source: "Source", unknown: "unknown",
    far: "FAR", farBuilt: "built", farMax: "maximum",
    status_over: "over", status_within: "within", status_unknown: "unknown",
    overlays: "Overlays", none: "none", nearest: "Nearest facilities",
    residents400: "Residents within 400 m", persons: "persons", properties: "All properties",
    export: "Export", features: "Features", noParcel: "No parcel here", noFeature: "Nothing here", loading: "Loading…",
    error: "Error: {msg}",
    stats: "Area statistics", landuseByClass: "Land use by class", class: "Class",
    share_: "Share", parcels: "Parcels", residents: "Residents",
    facilitiesInside: "Facilities inside", count: "Count",
    facility_school: "School", facility_fire_station: "Fire station", facility_hospital: "Hospital",
    facility_subway_station: "Subway station", facility_library: "Library",
    facility_police_station: "Police station",
    control_max_far: "Maximum FAR", control_max_far_residential: "Maximum FAR (residential)",
    control_max_height: "Maximum height", control_min_open_space: "Minimum open space",
    other: "Other", note: "Note",
    role_anonymous: "visitor", role_planner: "planner", role_land_bureau: "land bureau",
    role_admin: "administrator",
    edit: "Edit", history: "History", reason: "Reason for the change", save: "Save",
    saved: "Saved", reasonNeeded: "Say why you make this change",
    undoEdit: "Undo", editUndone: "The change was undone.", undoReason: "undone on the map by its editor",
    editConflict: "Someone else changed this feature: open it again and redo your change",
    changeKind_load: "Load", changeKind_edit: "Edit", changeKind_revert: "Revert",
    editShape: "Edit shape", resetShape: "Discard shape changes",
    shapeHint: "Drag a vertex to move it, drag a mid-point to add one, right-click a vertex to remove it.",
    shapeNotEditable: "This shape cannot be edited on the map (it has holes or crossing edges)",
    deleteFeature: "Delete feature", confirmDelete: "Confirm delete", deleted: "Deleted",
    restoreVersion: "Restore this version", confirmRestore: "Confirm restore",
    restored: "Past version restored", restoredReason: "restored the version of {when}",
    newFeature: "New feature", chooseLayer: "Add a feature to which layer?", created: "Created",
    drawHint_polygon: "Click to add vertices; click the first vertex to close the shape.",
    drawHint_linestring: "Click to add points; click the last point again to finish.",
    drawHint_point: "Click the map to place the feature.",
    bulkOpen: "Change all {n} matches…", bulkTitle: "Change all {n} matches", bulkField: "Field to change",
    bulkSend: "Apply to all {n}", bulkDone: "{n} of the {m} matches changed",
    bulkMoved: "The matches changed meanwhile: run the query again, then change them",
    bulkClears: "The new value is empty: this clears the field on all {n} matches. Press again to confirm.",
    snapToNeighbours: "Snap to neighbours (vertices put exactly on theirs; hold Alt to place one freely)",
    photosAndFiles: "Photos and files", attachments: "Attachments", attachRecord: "Files kept", attachAddedBy: "added {when} by {who}",
    attachRemovedBy: "removed {when} by {who}", attachAdd: "Add a file (a JPEG, PNG, WebP or GIF image, or a PDF)", attachSend: "Upload",
    attachRemove: "Remove", attachConfirmRemove: "Confirm removal", attachNone: "No attachments yet.",
    attachTooLarge: "The file is larger than this layer allows", attachWrongType: "Only JPEG, PNG, WebP or GIF images and PDF files can be kept",
    historyOf: "History of #{id}", withSize: "{id} ({size})",
    splitPartKept: "{id} keeps its id: {size} ({share})", splitPartNew: "A new feature: {size} ({share})",
    splitFeature: "Split along a line", mergeFeatures: "Merge with neighbours",
    splitHint: "Draw a line right across the feature: click to add points; click the last point again to finish.",
    splitReady: "The line is drawn: the largest part keeps the feature's id, each other part becomes a new feature.",
    splitSend: "Split", splitDone: "Split into {n} parts: {ids}",
    noNeighbours: "No feature shares a boundary with this one.", mergeWith: "Merge with which neighbours",
    mergeKeep: "Keep the id and fields of", mergeKeepThis: "this feature #{id}",
    mergeSend: "Merge", mergeDone: "{n} features merged into {id}",
    lineage: "Splits and merges", lineageSplit: "{parent} split into {children}",
    lineageMerge: "{parents} merged into {child}", lineageReverted: "reverted",
    asOfDate: "The map as of a day", compareDay: "Compare with a day (swipe)", now: "Now",
    compareDivider: "Drag the divider: this map on the left, the compared one on the right",
    compareMap: "The map as of {day} (compared)",
    compareTheme: "Compare with a theme (swipe)", compareNone: "No comparison",
    historySince: "History since {day}",
    compareThemeMap: "{theme} (compared)",
    query: "Query by attributes", queryLayer: "Layer to query", queryField: "Field",
    queryOp: "Condition", queryValue: "Value", queryCombine: "How the conditions combine",
    queryAll: "Match all conditions", queryAny: "Match any condition",
    addCondition: "Add a condition", removeCondition: "Remove this condition",
    queryWhere: "Where", queryScope_city: "The whole city", queryScope_view: "The current view",
    queryScope_area: "An area drawn on the map", queryDraw: "Draw the area",
    queryRedraw: "Draw it again", queryAreaDrawn: "Area drawn: the query finds what meets it.",
    queryDrawHint: "Click the map to add the area's corners; double-click or press Finish to end.",
    queryNeedsArea: "Draw the area on the map first", runQuery: "Run query",
    breakdownBy: "Break the matches down by", otherValues: "Other values", noValue: "No value",
    sidePanel: "Layers and tools", legendPanel: "Layers and legend", cardPanel: "Details",
    boundary: "Check a site boundary", boundaryLine: "Site boundary", boundaryHelp: "Open the file of a site's boundary (a CAD drawing as DXF, a zipped shapefile, GeoPackage, GeoJSON, KML or FlatGeobuf, or a survey's boundary points as TXT) to draw it on the map with the land use, residents and facilities inside.",
    boundaryFile: "Boundary file", boundaryCrsInput: "CRS of its coordinates (when the file declares none, as CAD drawings)",
    boundaryCheck: "Check", boundaryNoFile: "Choose the boundary file first", boundaryParts: "Areas",
    boundaryCrs: "Read in", boundaryLeftOut: "Features left out",
    boundaryQuery: "Query what lies inside",
    layersAndTools: "Layers & tools",
    boundarySaved: "Saved checks", boundaryOpen: "Open", boundaryForget: "Delete", boundaryForgetAsk: "Delete this saved check? Its link will stop working.",
    boundaryShare: "Share this check", boundaryShared: "The link to this check (copied; colleagues who are signed in can open it):",
    boundarySiteGone: "The site in this link cannot be found: it was deleted, or you need to sign in to see it.",
    zoningInside: "Zoning districts it falls in", moreZones: "{n} more districts not listed",
    changes: "Recent changes", changes_help: "What the land bureau changed in this map's layers, and new data releases, newest first. Choose one to see what changed, marked on the map.",
    changes_period: "Period", changes_days: "last {n} days", changes_subscribe: "Subscribe (Atom)",
    changes_none: "No changes in this period.", changes_more: "Earlier changes", changes_back: "← All changes",
    changes_added: "{n} added", changes_modified: "{n} changed", changes_deleted: "{n} removed",
    changes_one_added: "added", changes_one_modified: "changed", changes_one_deleted: "removed",
    changes_kind_load: "New data release", changes_kind_revert: "A change undone", changes_kind_split: "A feature split", changes_kind_merge: "Features merged",
    changes_reason: "Reason: {reason}", changes_empty: "(empty)", changes_shape: "Shape",
    changes_shapeMoved: "changed (the shape before as a grey dashed line)", changes_feature: "Feature {id}",
    changes_andMore: "{n} more not listed", changes_gone: "This change can no longer be found",
    changes_compare: "Compare with the map of {day}", listSep: ", ", role_loader: "data load",
    changes_revert: "Undo this change", changes_revertReason: "Why undo it (required)",
    changes_reasonNeeded: "Say why the change is undone", changes_revertConflict: "It cannot be undone: its features were changed again since. Undo the later changes first.",
    today: "Today", yesterday: "Yesterday",
    changes_inView: "Only in the map's view", changes_noneInView: "No changes in the map's view in this period.",
    changes_subscribeView: "Subscribe to this area (Atom)",
    catchments: "Walking catchments",
    quality: "Data quality check", quality_help: "Check a layer for data faults: overlaps, gaps, duplicates, invalid shapes, lines that stop short and codes its code table lacks. Faults are marked in red on the map.",
    quality_layer: "Layer", quality_settings: "Thresholds", quality_minArea: "Smallest overlap or gap (m²)",
    quality_maxGap: "Largest gap (m²)", quality_tolerance: "Tolerance (m)", quality_run: "Check",
    quality_running: "Checking…", quality_badNumber: "Enter a number of 0 or more: {what}",
    quality_showAll: "Show all {n}", quality_found: "{features} features checked: {n} faults found.",
    quality_clean: "{features} features checked: no faults found.", quality_download: "Download the faults (GeoJSON)",
    quality_pair: "{a} and {b}", quality_back: "← Back to the faults", quality_inView: "In the map's view: ", quality_afterEdit: "⚠ The shape as saved has data faults: {list}.", quality_showThese: "Mark them on the map", quality_legend: "{n} data faults", quality_listed: "{n} of them listed", quality_show: "Show on the map", quality_open: "Open the feature",
    quality_empty: "No shape", quality_empty_help: "A feature without a shape: it is not on the map.",
    quality_invalid: "Invalid shapes", quality_invalid_help: "A shape that breaks the rules (an outline that crosses itself): its area and overlays may be wrong.",
    quality_duplicate: "Duplicates", quality_duplicate_help: "Two features with the same shape (points: nearer than the tolerance), perhaps entered twice.",
    quality_overlap: "Overlaps", quality_overlap_help: "Two features that cover the same ground, which is then counted twice.",
    quality_gap: "Gaps", quality_gap_help: "A sliver enclosed by features but in none of them, where neighbouring outlines do not meet.",
    quality_undershoot: "Lines that stop short", quality_undershoot_help: "A line ends close to another without meeting it: the network is broken there.",
    quality_unknown_code: "Unknown codes", quality_unknown_code_help: "A code the layer's code table (or crosswalk) lacks: maps and statistics cannot class it.",
    totalOf: "Add up", totalSum: "Total", totalMean: "mean", totalCounted: "{n} with a value, {nulls} without", clearQuery: "Clear query",
    and: "and",
    op_eq: "is", op_ne: "is not", op_contains: "contains", op_starts: "starts with",
    op_lt: "less than", op_le: "at most", op_gt: "greater than", op_ge: "at least",
    op_between: "between", op_null: "is empty", op_notnull: "is not empty", op_true: "is yes",
    op_false: "is no",
    queryMatched: "{n} features match.", queryMatchedMore: "At least {n} features match.",
    queryShown: "The first {n} are drawn and listed.", queryNone: "No feature matches.",
    loadMore: "Load {n} more", zoomToResults: "Zoom to the results",
    backToResults: "← Back to the results", exportAll: "Export all results:",
    queryRange: "Range {min} – {max}", queryNeedsValue: "{field} needs a value",
    queryBadNumber: "{field} needs a number", queryBadDate: "{field} needs a date",
    sortBy: "Sort by this column (again: the other way)",
    print: "Print map", printSheet: "Print a map sheet", sheetTitle: "Title", paper: "Paper",
    orientation: "Orientation", landscape: "Landscape", portrait: "Portrait", format: "Format",
    printDate: "Date", north: "N", unitM: "m", unitKm: "km",
    standardClass: "Standard class (national)", noLimit: "no limit", status_no_limit: "no limit", whatApplies: "What the plan allows here",
    whatFor: "What it is for", keyLimits: "Key limits",
    sources_official: "The limits come from the city's official documents.",
    sources_secondary: "The limits come from unofficial, secondary sources and may be wrong; the city's zoning ordinance is what counts.",
    sources_mixed: "Some limits come from the city, others from secondary sources; the city's zoning ordinance is what counts.",
    sources_none: "No source available to us gives this district's limits; see the city's zoning ordinance.",
  },
};

// MapLibre's own control labels (its ``locale`` option), in both languages.
const MAP_UI = {
  zh: {
    "Map.Title": "地图", "NavigationControl.ZoomIn": "放大", "NavigationControl.ZoomOut": "缩小",
    "NavigationControl.ResetBearing": "恢复正北", "GeolocateControl.FindMyLocation": "定位我的位置",
    "GeolocateControl.LocationNotAvailable": "无法获取位置",
    "AttributionControl.ToggleAttribution": "显示或隐藏数据来源",
    "AttributionControl.MapFeedback": "地图反馈", "FullscreenControl.Enter": "全屏",
    "FullscreenControl.Exit": "退出全屏", "LogoControl.Title": "MapLibre 标志",
    "ScaleControl.Meters": "米", "ScaleControl.Kilometers": "千米",
    "ScaleControl.Feet": "英尺", "ScaleControl.Miles": "英里", "ScaleControl.NauticalMiles": "海里",
    "CooperativeGesturesHandler.WindowsHelpText": "按住 Ctrl 键并滚动以缩放地图",
    "CooperativeGesturesHandler.MacHelpText": "按住 ⌘ 键并滚动以缩放地图",
    "CooperativeGesturesHandler.MobileHelpText": "用两根手指移动地图",
  },
  en: {
    "Map.Title": "Map", "NavigationControl.ZoomIn": "Zoom in", "NavigationControl.ZoomOut": "Zoom out",
    "NavigationControl.ResetBearing": "Reset bearing to north",
    "GeolocateControl.FindMyLocation": "Find my location",
    "GeolocateControl.LocationNotAvailable": "Location not available",
    "AttributionControl.ToggleAttribution": "Toggle attribution",
    "AttributionControl.MapFeedback": "Map feedback", "FullscreenControl.Enter": "Enter fullscreen",
    "FullscreenControl.Exit": "Exit fullscreen", "LogoControl.Title": "MapLibre logo",
    "ScaleControl.Meters": "m", "ScaleControl.Kilometers": "km",
    "ScaleControl.Feet": "ft", "ScaleControl.Miles": "mi", "ScaleControl.NauticalMiles": "nm",
    "CooperativeGesturesHandler.WindowsHelpText": "Use Ctrl + scroll to zoom the map",
    "CooperativeGesturesHandler.MacHelpText": "Use ⌘ + scroll to zoom the map",
    "CooperativeGesturesHandler.MobileHelpText": "Use two fingers to move the map",
  },
};
const CONTROL_KEYS = {
  ".maplibregl-ctrl-zoom-in": "NavigationControl.ZoomIn",
  ".maplibregl-ctrl-zoom-out": "NavigationControl.ZoomOut",
  ".maplibregl-ctrl-compass": "NavigationControl.ResetBearing",
  ".maplibregl-ctrl-geolocate": "GeolocateControl.FindMyLocation",
  ".maplibregl-ctrl-attrib-button": "AttributionControl.ToggleAttribution",
};

let current = "en";

/** MapLibre's ``locale`` option for the current language. */
export function mapLocale() {
  return { ...MAP_UI[current] };
}

/** After a language switch: the map's control labels in the new language. MapLibre reads its
 * labels from ``map._locale`` (no public setter), so that is where they go. */
export function relabelMap(map) {
  const labels = MAP_UI[current];
  if (map._locale) Object.assign(map._locale, labels);
  const root = map.getContainer();
  for (const [selector, key] of Object.entries(CONTROL_KEYS)) {
    for (const el of root.querySelectorAll(selector)) {
      el.title = labels[key];
      el.setAttribute("aria-label", labels[key]);
    }
  }
  map.getCanvas().setAttribute("aria-label", labels["Map.Title"]);
}

export function setLang(lang) {
  current = lang === "zh" ? "zh" : "en";
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

export function lang() {
  return current;
}

/** The string ``key`` in the current language, with {name} placeholders filled. */
export const t = phrases(STRINGS);

/** ``say(key, vars)`` over a module's own strings (``{zh: {...}, en: {...}}``): the current
 * language's text (else English's, else the key) with ``{name}`` filled from ``vars``. */
export function phrases(table) {
  return (key, vars = {}) => {
    const text = table[current]?.[key] ?? table.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  };
}

// Tables the page's config carries from the package, the one place they are written: units as
// read in Chinese (digitalcity/catalog/units.py) and the layer kinds' titles (catalog/model.py).
let words = null;
function pageWords() {
  if (!words) {
    const element = document.getElementById("dc-config");
    const config = element ? JSON.parse(element.textContent) : {};
    words = { unitsZh: config.unitsZh || {}, kinds: config.kinds || {} };
  }
  return words;
}

/** The title of a layer kind (landuse, planning, ...) in the current language. */
export function kindTitle(kind) {
  return pick(pageWords().kinds[kind]) || kind;
}

/** What a graduated layer's legend classes measure: its field and unit ("" for others). */
export function legendCaption(layer) {
  if (!layer.field_title) return "";
  const unit = unitText(layer.unit);
  if (!unit) return layer.field_title;
  return current === "zh" ? `${layer.field_title}（${unit}）` : `${layer.field_title} (${unit})`;
}

/** A unit as shown in the current language (unknown units are shown as they are). */
export function unitText(unit) {
  if (current !== "zh" || !unit) return unit || "";
  return pageWords().unitsZh[unit] ?? unit;
}

/** Fill every element marked data-i18n / data-i18n-placeholder / data-i18n-title. */
export function applyLabels(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
    if (el.hasAttribute("aria-label")) el.setAttribute("aria-label", el.title);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll("button.lang")) el.textContent = t("langButton");
}

/** Pick the zh or en text of a {zh, en} object. */
export function pick(titles) {
  if (titles == null) return "";
  if (typeof titles === "string") return titles;
  return titles[current] ?? titles.en ?? "";
}
