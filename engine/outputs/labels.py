"""The words of the report, the register and the map, in Chinese and English (``Labels.for_lang``).

Class names come from ``engine.analysis.classes`` (one definition: 耕地和草地, never 耕地 alone). Column
keys are shared by the report's patch table and the register, so both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.analysis.classes import LandCover

LANGS = ("zh", "en")

#: (key, Chinese, English): the patch table of the report; the register adds ``REGISTER_EXTRA`` after it.
PATCH_COLUMNS = (
    ("number", "编号", "No."),
    ("change", "变化类型", "Change"),
    ("area_mu", "面积（亩）", "Area (mu)"),
    ("area_ha", "面积（公顷）", "Area (ha)"),
    ("lon", "中心经度", "Centroid longitude"),
    ("lat", "中心纬度", "Centroid latitude"),
    ("gk_x_m", "X 坐标（米）", "X, northing (m)"),
    ("gk_y_m", "Y 坐标（米，含带号）", "Y, easting with zone (m)"),
    ("zone", "所在保护区", "Protection zone"),
)
REGISTER_EXTRA = (
    ("class_from", "原地类", "From class"),
    ("class_to", "现地类", "To class"),
    ("area_m2", "面积（平方米）", "Area (m²)"),
    ("date_from", "前时相", "Date before"),
    ("date_to", "后时相", "Date after"),
    ("source", "数据来源", "Source layers"),
    ("method", "来源", "Origin"),
)

_TEXT = {
    "title": ("土地利用变化监测报告", "Land-use change monitoring report"),
    "area": ("监测范围", "Area"),
    "dates": ("监测时相", "Dates"),
    "made": ("生成时间", "Made"),
    "sources": ("数据与质量", "Data and quality"),
    "date": ("日期", "Date"),
    "layer": ("影像", "Layer"),
    "sensor": ("传感器", "Sensor"),
    "valid": ("有效像元比例", "Valid share"),
    "cloud": ("云及无效比例", "Cloud and invalid share"),
    "summary": ("监测结论", "Summary"),
    "audit_ok": ("本段所有数字均与量测结果一致（数字核查通过）。", "Every figure in this paragraph matches the "
                 "measurements (numbers audit passed)."),
    "audit_bad": ("以下数字未得到量测结果支持，请勿引用：", "These figures are not supported by the measurements; "
                  "do not quote them:"),
    "summary_source_model": ("结论由模型根据量测结果撰写。", "Written by the model from the measurements."),
    "summary_source_facts": ("结论由量测结果直接生成（未使用模型）。",
                             "Written from the measurements alone (no model)."),
    "map": ("变化图斑总览图", "Overview map of change patches"),
    "landuse": ("各时相土地利用面积", "Land use per date"),
    "class": ("地类", "Class"),
    "transitions": ("地类转变", "Changes between classes"),
    "from_to": ("转变", "From → to"),
    "patches_n": ("图斑数", "Patches"),
    "none": ("无", "none"),
    "violations": ("保护区内疑似违规变化", "Suspected violations in protection zones"),
    "zone": ("保护区", "Zone"),
    "kind": ("类型", "Kind"),
    "no_violations": ("未发现保护区内的疑似违规变化。", "No suspected violation inside the protection zones."),
    "no_zones": ("未提供保护区图层。", "No protection-zone layer was given."),
    "patch_table": ("变化图斑表", "Change patches"),
    "patch_table_more": ("此处列出面积最大的 {shown} 个图斑，共 {count} 个；全部图斑见 patches.xlsx。",
                         "The {shown} largest of {count} patches; every patch is in patches.xlsx."),
    "no_patches": ("未发现达到最小上图面积的变化图斑。", "No change patch reaches the minimum mapping unit."),
    "gk": ("平面坐标：{name}；X 为北坐标，Y 为含带号的东坐标。", "Plane coordinates: {name}; X northing, Y easting "
           "with the zone number in front."),
    "chips": ("主要图斑前后对比", "Largest patches, before and after"),
    "before": ("前", "before"),
    "after": ("后", "after"),
    "method": ("方法说明", "Method"),
    "legend_patch": ("变化图斑", "Change patch"),
    "legend_zone": ("保护区", "Protection zone"),
    "north": ("北", "N"),
    "crs": ("坐标系", "CRS"),
    "unit_mu": ("亩", "mu"),
    "unit_ha": ("公顷", "ha"),
    "total": ("合计", "Total"),
    "sweep_title": ("区域土地利用变化监测汇总报告", "Summary report of the areas' land-use change"),
    "sweep_areas": ("区域数", "Areas"),
    "sweep_ok": ("已测量", "measured"),
    "sweep_failed": ("未能测量的区域", "Areas not measured"),
    "sweep_reason": ("原因", "Reason"),
    "sweep_reports": ("各区域的报告见 reports/<区域>/report.docx；全部图斑见各区域的 patches.xlsx。",
                      "Each area's report is in reports/<area>/report.docx, its patches in patches.xlsx beside it."),
}

_METHOD = {
    "zh": [
        "地类由光谱指数规则逐像元判别：{classes}。光谱规则无法区分耕地与草地（二者均为草本植被），故合称“耕地和草地”；"
        "区分二者需要三调等参考数据。",
        "变化图斑为前后两期地类不同且连片面积不小于最小上图面积（{mmu} 公顷）的像元集合；小于该面积的零星变化"
        "（{speckle}）不计入。",
        "面积：{area_method}。1 亩 = 666.67 平方米，1 公顷 = 15 亩。",
        "已知局限：10–30 米分辨率影像难以识别小于一个像元的地物；云、阴影与无数据像元不计入任何地类；"
        "遥感判别结果须经外业核查后方可作为执法依据。",
    ],
    "en": [
        "Classes come from per-pixel spectral-index rules: {classes}. The rules cannot tell cultivated land from "
        "grassland (both are herbaceous vegetation), so they are reported together as \"cropland and grassland\"; "
        "a reference survey (三调) separates them.",
        "A change patch is a connected set of pixels whose class differs between the two dates, at least the "
        "minimum mapping unit ({mmu} ha); smaller scattered change ({speckle}) is left out.",
        "Areas: {area_method}. 1 mu = 666.67 m², 1 ha = 15 mu.",
        "Known limits: 10-30 m imagery cannot resolve features smaller than a pixel; cloud, shadow and nodata "
        "pixels count in no class; remote-sensing results need field checks before enforcement.",
    ],
}


@dataclass(frozen=True)
class Labels:
    lang: str

    @classmethod
    def for_lang(cls, lang: str) -> Labels:
        if lang not in LANGS:
            raise ValueError(f"unknown report language {lang!r}; use one of {', '.join(LANGS)}")
        return cls(lang)

    @property
    def zh(self) -> bool:
        return self.lang == "zh"

    def __getitem__(self, key: str) -> str:
        zh, en = _TEXT[key]
        return zh if self.zh else en

    def cls(self, key: str) -> str:
        member = LandCover.from_key(key)
        return member.label_zh if self.zh else member.label_en

    def change(self, class_from: str, class_to: str) -> str:
        return f"{self.cls(class_from)} → {self.cls(class_to)}"

    def columns(self, spec) -> list[tuple[str, str]]:
        return [(key, zh if self.zh else en) for key, zh, en in spec]

    def method(self, **values: str) -> list[str]:
        return [p.format(**values) for p in _METHOD[self.lang]]
