<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>LandUseMonitor</name>
    <message>
        <source>Answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <source>Answer language</source>
        <translation>回答语言</translation>
    </message>
    <message>
        <source>Area unit</source>
        <translation>面积单位</translation>
    </message>
    <message>
        <source>Ask about raster extent</source>
        <translation>就栅格范围提问</translation>
    </message>
    <message>
        <source>Ask about visible layer</source>
        <translation>就可见范围提问</translation>
    </message>
    <message>
        <source>Asks the engine about the layers over the extent. The answer's numbers are measured; the findings (measured change patches and places the model pointed at) go to a GeoJSON file.</source>
        <translation>向引擎询问该范围内的影像。回答中的数字均为测量值；发现（测量到的变化图斑与模型指出的位置）写入 GeoJSON 文件。</translation>
    </message>
    <message>
        <source>Bare land</source>
        <translation>裸地</translation>
    </message>
    <message>
        <source>Baseline layer</source>
        <translation>基准影像</translation>
    </message>
    <message>
        <source>Built-up land</source>
        <translation>建设用地</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Cannot start {}: {}</source>
        <translation>无法启动 {}：{}</translation>
    </message>
    <message>
        <source>Change polygons</source>
        <translation>变化图斑</translation>
    </message>
    <message>
        <source>Choose a raster layer</source>
        <translation>请选择栅格影像图层</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>地类</translation>
    </message>
    <message>
        <source>Cropland and grassland</source>
        <translation>耕地和草地</translation>
    </message>
    <message>
        <source>Current layer</source>
        <translation>当前影像</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Double-click to zoom to it</source>
        <translation>双击缩放到该处</translation>
    </message>
    <message>
        <source>Engine Python</source>
        <translation>引擎环境的 Python</translation>
    </message>
    <message>
        <source>Engine URL</source>
        <translation>引擎地址</translation>
    </message>
    <message>
        <source>Engine not running</source>
        <translation>引擎未运行</translation>
    </message>
    <message>
        <source>Engine running: backend {}, model {}, device {}, precision {}; {} asks queued</source>
        <translation>引擎运行中：后端 {}，模型 {}，设备 {}，精度 {}；排队中的提问 {} 个</translation>
    </message>
    <message>
        <source>Engine starting…</source>
        <translation>引擎启动中…</translation>
    </message>
    <message>
        <source>Engine: unknown</source>
        <translation>引擎状态：未知</translation>
    </message>
    <message>
        <source>Enter the engine's token in the settings</source>
        <translation>在设置中填写正确的令牌</translation>
    </message>
    <message>
        <source>Example questions</source>
        <translation>示例问题</translation>
    </message>
    <message>
        <source>Export findings</source>
        <translation>导出发现</translation>
    </message>
    <message>
        <source>Extent</source>
        <translation>范围</translation>
    </message>
    <message>
        <source>File exists</source>
        <translation>文件已存在</translation>
    </message>
    <message>
        <source>Findings</source>
        <translation>发现</translation>
    </message>
    <message>
        <source>Forest</source>
        <translation>林地</translation>
    </message>
    <message>
        <source>Land-Use Monitor settings</source>
        <translation>土地利用监测设置</translation>
    </message>
    <message>
        <source>Land-cover change polygons</source>
        <translation>土地覆盖变化图斑</translation>
    </message>
    <message>
        <source>Land-use findings</source>
        <translation>土地利用变化</translation>
    </message>
    <message>
        <source>Land-use monitor</source>
        <translation>土地利用监测</translation>
    </message>
    <message>
        <source>Land-use monitoring</source>
        <translation>土地利用监测</translation>
    </message>
    <message>
        <source>Load a Landsat or Sentinel-2 layer and choose it</source>
        <translation>请先加载并选择一个 Landsat 或 Sentinel-2 影像图层</translation>
    </message>
    <message>
        <source>Measured land-cover change patches between the baseline and the current layer (after the minimum mapping unit), with their classes and areas, as a polygon layer in EPSG:4326.</source>
        <translation>基准影像与当前影像之间测量到的土地覆盖变化图斑（已去除小于最小制图单元的碎斑），含地类与面积，输出为 EPSG:4326 面图层。</translation>
    </message>
    <message>
        <source>Measured; answering…</source>
        <translation>已测量，正在生成回答…</translation>
    </message>
    <message>
        <source>Measurements only</source>
        <translation>仅测量</translation>
    </message>
    <message>
        <source>New session</source>
        <translation>新会话</translation>
    </message>
    <message>
        <source>Overwrite {}?</source>
        <translation>覆盖 {}？</translation>
    </message>
    <message>
        <source>Port {} is already in use</source>
        <translation>端口 {} 已被占用</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Reading and measuring…</source>
        <translation>正在读取与测量…</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Start a local engine</source>
        <translation>启动本地引擎</translation>
    </message>
    <message>
        <source>Start the engine</source>
        <translation>启动本地引擎</translation>
    </message>
    <message>
        <source>Start the engine (Settings → Start a local engine) or check its URL</source>
        <translation>启动本地引擎（设置 → 启动本地引擎）或检查引擎地址</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>The engine is busy: try again shortly</source>
        <translation>引擎繁忙，请稍后重试</translation>
    </message>
    <message>
        <source>The layer has no CRS: set it in its properties</source>
        <translation>图层没有坐标系：请在图层属性中设置</translation>
    </message>
    <message>
        <source>The map view is outside the layer: zoom to it</source>
        <translation>当前地图范围不在图层范围内：请缩放到影像</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>令牌</translation>
    </message>
    <message>
        <source>Type a question</source>
        <translation>请输入问题</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>面积单位</translation>
    </message>
    <message>
        <source>Water</source>
        <translation>水体</translation>
    </message>
    <message>
        <source>Wrong token</source>
        <translation>令牌错误</translation>
    </message>
    <message>
        <source>Area</source>
        <translation>测量范围</translation>
    </message>
    <message>
        <source>Measure inside a boundary: its selected features, or all of them when none is selected (empty: the visible extent)</source>
        <translation>在边界内测量：所选要素；未选择时为全部要素（留空：当前可见范围）</translation>
    </message>
    <message>
        <source>The boundary layer {} has no polygons</source>
        <translation>边界图层 {} 中没有多边形</translation>
    </message>
    <message>
        <source>{} ({} selected)</source>
        <translation>{}（已选 {} 个）</translation>
    </message>
    <message>
        <source>{} of {} areas ({} failed)</source>
        <translation>{} / {} 个区域（{} 个失败）</translation>
    </message>
    <message>
        <source>Sweep areas</source>
        <translation>批量区域测量</translation>
    </message>
    <message>
        <source>Measures every area of a boundary layer (townships, counties; its selected features when 'Selected features only' is ticked) on the same dates, through the local engine's sweep on Dask. Loads the change patches, zone violations and the summary table (亩 and 公顷) into the project. A rerun into the same folder skips the areas already measured.</source>
        <translation>在相同日期上测量边界图层中的每个区域（乡镇、县；勾选“仅所选要素”时为所选要素），由本地引擎在 Dask 上批量运行。完成后将变化图斑、保护区疑似违规和汇总表（亩与公顷）加载到项目中。再次运行到同一文件夹时跳过已测量的区域。</translation>
    </message>
    <message>
        <source>Boundary layer</source>
        <translation>边界图层</translation>
    </message>
    <message>
        <source>Name field</source>
        <translation>名称字段</translation>
    </message>
    <message>
        <source>Layers (one or more per date)</source>
        <translation>影像图层（每个日期一个或多个）</translation>
    </message>
    <message>
        <source>Measure again the areas already measured</source>
        <translation>重新测量已测量的区域</translation>
    </message>
    <message>
        <source>Sweep folder</source>
        <translation>结果文件夹</translation>
    </message>
    <message>
        <source>Findings (GeoPackage)</source>
        <translation>发现（GeoPackage）</translation>
    </message>
    <message>
        <source>Summary table (Excel)</source>
        <translation>汇总表（Excel）</translation>
    </message>
    <message>
        <source>{}: {}</source>
        <translation>{}：{}</translation>
    </message>
    <message>
        <source>{} of {} areas measured; results in {}</source>
        <translation>已测量 {} / {} 个区域；结果位于 {}</translation>
    </message>
    <message>
        <source>Change patches</source>
        <translation>变化图斑</translation>
    </message>
    <message>
        <source>Zone violations</source>
        <translation>保护区疑似违规</translation>
    </message>
    <message>
        <source>Sweep summary</source>
        <translation>批量测量汇总</translation>
    </message>
    <message>
        <source>Zones</source>
        <translation>保护区</translation>
    </message>
    <message>
        <source>{} findings exported: {}</source>
        <translation>已导出 {} 个发现：{}</translation>
    </message>
    <message>
        <source>The answer states no figure to check</source>
        <translation>回答中没有可核对的数字</translation>
    </message>
    <message>
        <source>⚠ not supported by the measurements: </source>
        <translation>⚠ 以下数字无测量依据：</translation>
    </message>
    <message>
        <source>⚠ {}: {} → {}</source>
        <translation>⚠ {}：{} → {}</translation>
    </message>
    <message>
        <source>✔ every number is measured</source>
        <translation>✔ 回答中的数字均来自测量</translation>
    </message>
    <message>
        <source>县域土地利用监测 / Land-Use Monitor</source>
        <translation>县域土地利用监测 / Land-Use Monitor</translation>
    </message>
    <message>
        <source>+ Baseline</source>
        <translation>+ 基期影像</translation>
    </message>
    <message>
        <source>Acquisition date; filled from the layer's metadata</source>
        <translation>成像日期，自动从影像元数据读取</translation>
    </message>
    <message>
        <source>As the question is written</source>
        <translation>与提问语言相同</translation>
    </message>
    <message>
        <source>Band roles</source>
        <translation>波段设置</translation>
    </message>
    <message>
        <source>Band {}</source>
        <translation>第 {} 波段</translation>
    </message>
    <message>
        <source>Bands…</source>
        <translation>波段…</translation>
    </message>
    <message>
        <source>Baseline layers</source>
        <translation>基期影像</translation>
    </message>
    <message>
        <source>Not present</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Reading the layer's metadata…</source>
        <translation>正在读取影像元数据…</translation>
    </message>
    <message>
        <source>Remove this baseline</source>
        <translation>移除此基期影像</translation>
    </message>
    <message>
        <source>The engine is not reachable: the date and bands will be read when you ask</source>
        <translation>未连接到分析引擎：日期和波段将在提问时读取</translation>
    </message>
    <message>
        <source>The engine reads this product's bands from its metadata; nothing to choose</source>
        <translation>该产品的波段由引擎从元数据读取，无需设置</translation>
    </message>
    <message>
        <source>The file does not say which band is which. Choose at least blue, green, red and near infrared; shortwave infrared 1 lets water be measured better.</source>
        <translation>该文件没有注明各波段含义。请至少指定蓝、绿、红和近红外波段；指定短波红外1可以更准确地识别水体。</translation>
    </message>
    <message>
        <source>Which band is red, near infrared, …</source>
        <translation>哪个波段是红光、近红外……</translation>
    </message>
    <message>
        <source>Write the date of {} as YYYY-MM-DD</source>
        <translation>请按 YYYY-MM-DD 格式填写 {} 的日期</translation>
    </message>
    <message>
        <source>YYYY-MM-DD</source>
        <translation>年-月-日</translation>
    </message>
    <message>
        <source>⚠ band roles missing: {} (click Bands…)</source>
        <translation>⚠ 缺少波段：{}（请点击“波段…”）</translation>
    </message>
    <message>
        <source>⚠ no date in the metadata: type it</source>
        <translation>⚠ 元数据中没有日期，请填写</translation>
    </message>
    <message>
        <source>Blue</source>
        <translation>蓝光</translation>
    </message>
    <message>
        <source>Green</source>
        <translation>绿光</translation>
    </message>
    <message>
        <source>Red</source>
        <translation>红光</translation>
    </message>
    <message>
        <source>Near infrared</source>
        <translation>近红外</translation>
    </message>
    <message>
        <source>Shortwave infrared 1</source>
        <translation>短波红外1</translation>
    </message>
    <message>
        <source>Shortwave infrared 2</source>
        <translation>短波红外2</translation>
    </message>
    <message>
        <source>A zone of {} cannot be transformed to longitude/latitude</source>
        <translation>{} 中有保护区无法转换为经纬度</translation>
    </message>
    <message>
        <source>Engine connected ({})</source>
        <translation>已连接分析引擎（{}）</translation>
    </message>
    <message>
        <source>No engine is running at {}</source>
        <translation>{} 上没有运行分析引擎</translation>
    </message>
    <message>
        <source>Not connected: the engine is not running at {}</source>
        <translation>未连接：{} 上没有运行分析引擎</translation>
    </message>
    <message>
        <source>Reading and classifying {}…</source>
        <translation>正在读取并分类 {}…</translation>
    </message>
    <message>
        <source>The engine at {} did not answer in time</source>
        <translation>分析引擎（{}）没有及时响应</translation>
    </message>
    <message>
        <source>The engine is busy</source>
        <translation>分析引擎正忙</translation>
    </message>
    <message>
        <source>The engine refused the token</source>
        <translation>分析引擎拒绝了访问令牌</translation>
    </message>
    <message>
        <source>The engine's reply is not JSON</source>
        <translation>分析引擎的回复格式有误（不是 JSON）</translation>
    </message>
    <message>
        <source>The engine's stream is malformed</source>
        <translation>分析引擎返回的数据流格式有误</translation>
    </message>
    <message>
        <source>The zones layer {} has no polygons</source>
        <translation>保护区图层 {} 中没有多边形</translation>
    </message>
    <message>
        <source>(measure only)</source>
        <translation>（仅测量）</translation>
    </message>
    <message>
        <source>A: </source>
        <translation>答：</translation>
    </message>
    <message>
        <source>Q: </source>
        <translation>问：</translation>
    </message>
    <message>
        <source>Add each date's land-cover map as a styled raster layer</source>
        <translation>把每期的地类图作为带样式的栅格图层加入项目</translation>
    </message>
    <message>
        <source>Answering…</source>
        <translation>正在回答…</translation>
    </message>
    <message>
        <source>Ask in Chinese or English (Enter sends, Shift+Enter: new line)</source>
        <translation>用中文或英文提问（回车发送，Shift+回车换行）</translation>
    </message>
    <message>
        <source>Change</source>
        <translation>变化</translation>
    </message>
    <message>
        <source>Changes</source>
        <translation>变化</translation>
    </message>
    <message>
        <source>Classes</source>
        <translation>地类</translation>
    </message>
    <message>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
    <message>
        <source>Copy answer</source>
        <translation>复制回答</translation>
    </message>
    <message>
        <source>Done: the model gave no answer</source>
        <translation>完成：模型没有给出回答</translation>
    </message>
    <message>
        <source>Facts</source>
        <translation>事实</translation>
    </message>
    <message>
        <source>Figures:</source>
        <translation>数字核对：</translation>
    </message>
    <message>
        <source>History</source>
        <translation>记录</translation>
    </message>
    <message>
        <source>Land cover {}</source>
        <translation>地类 {}</translation>
    </message>
    <message>
        <source>Land-cover maps</source>
        <translation>地类图层</translation>
    </message>
    <message>
        <source>Making the land-cover maps…</source>
        <translation>正在生成地类图…</translation>
    </message>
    <message>
        <source>Measure only</source>
        <translation>仅测量</translation>
    </message>
    <message>
        <source>Measure the visible extent without the language model</source>
        <translation>不调用语言模型，只测量可见范围</translation>
    </message>
    <message>
        <source>Not connected: the engine is not running</source>
        <translation>未连接：分析引擎没有运行</translation>
    </message>
    <message>
        <source>Patch</source>
        <translation>图斑</translation>
    </message>
    <message>
        <source>Patches</source>
        <translation>图斑</translation>
    </message>
    <message>
        <source>Zone</source>
        <translation>保护区</translation>
    </message>
    <message>
        <source>not measurable</source>
        <translation>不可测量</translation>
    </message>
    <message>
        <source>outside</source>
        <translation>不在范围内</translation>
    </message>
    <message>
        <source>{} land-cover maps added</source>
        <translation>已加入 {} 个地类图层</translation>
    </message>
    <message>
        <source>{}: {} → {}</source>
        <translation>{}：{} → {}</translation>
    </message>
    <message>
        <source>⚠ No answer: </source>
        <translation>⚠ 没有回答：</translation>
    </message>
    <message>
        <source>⚠ The model gave no answer</source>
        <translation>⚠ 模型没有给出回答</translation>
    </message>
    <message>
        <source>County Land-Use Monitor</source>
        <translation>县域土地利用监测</translation>
    </message>
    <message>
        <source>&amp;Land-Use Monitor</source>
        <translation>土地利用监测(&amp;L)</translation>
    </message>
    <message>
        <source>No engine found: run scripts/setup.sh --qgis, or choose the engine's Python in the settings</source>
        <translation>没有找到分析引擎：请运行 scripts/setup.sh --qgis，或在设置中选择引擎的 Python</translation>
    </message>
    <message>
        <source>The engine is not running</source>
        <translation>分析引擎没有运行</translation>
    </message>
    <message>
        <source>The engine URL {} is not on this computer: start the engine there</source>
        <translation>分析引擎地址 {} 不在本机：请在那台电脑上启动引擎</translation>
    </message>
    <message>
        <source>The engine ended the answer early</source>
        <translation>分析引擎提前结束了回答</translation>
    </message>
    <message>
        <source>The engine stopped answering at {}</source>
        <translation>分析引擎（{}）中途停止了响应</translation>
    </message>
    <message>
        <source>Make report</source>
        <translation>生成报告</translation>
    </message>
    <message>
        <source>Word report, Excel patch register and patches (CGCS2000) of the shown answer, saved in a folder</source>
        <translation>将当前回答的 Word 报告、Excel 图斑台账和图斑图层（CGCS2000）保存到文件夹</translation>
    </message>
    <message>
        <source>Folder for the report</source>
        <translation>报告保存文件夹</translation>
    </message>
    <message>
        <source>Making the report…</source>
        <translation>正在生成报告…</translation>
    </message>
    <message>
        <source>Change patch register</source>
        <translation>变化图斑台账</translation>
    </message>
    <message>
        <source>Report saved: {} change patches</source>
        <translation>报告已保存：{} 个变化图斑</translation>
    </message>
    <message>
        <source>Report saved in {}</source>
        <translation>报告已保存到 {}</translation>
    </message>
    <message>
        <source>The report's archive is malformed</source>
        <translation>报告压缩包格式错误</translation>
    </message>
    <message>
        <source>The report could not be saved</source>
        <translation>无法保存报告</translation>
    </message>
    <message>
        <source>Write a report per area and a summary report</source>
        <translation>为每个区域生成报告并生成汇总报告</translation>
    </message>
    <message>
        <source>Summary report (Word)</source>
        <translation>汇总报告（Word）</translation>
    </message>
</context>
</TS>
