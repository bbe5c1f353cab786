"""Text clean-up applied before any matching: width, script, spacing, mentions and noise."""

from __future__ import annotations

import re
import unicodedata

# Traditional -> simplified for the characters a branch group actually types.
# Written as pairs "繁简" so the table stays readable and easy to extend.
_T2S_PAIRS = (
    "簽签請请學学習习願愿務务參参會会結结開开導导帳账臺台檯台計计統统時时議议黨党課课"
    "組组員员記记錄录幫帮說说發发佈布個个兩两鐘钟區区們们還还誰谁沒没離离變变設设補补"
    "綁绑與与週周內内達达點点歲岁場场資资講讲閱阅讀读談谈話话於于為为這这麼么幾几號号"
    "題题問问見见體体書书總总綱纲產产國国長长帶带專专動动態态處处應应報报業业義义華华"
    "實实現现際际歷历傳传關关係系優优檢检紀纪機机構构單单樣样辦办過过進进來来後后間间"
    "從从對对將将讓让給给經经無无門门錯错誤误當当屆届團团護护環环衛卫獻献樹树醫医療疗"
    "養养貧贫鄉乡鎮镇縣县鄰邻愛爱聽听覺觉寫写筆笔認认識识練练讚赞謝谢聯联絡络絕绝閉闭"
    "載载詢询數数據据類类雙双線线網网頁页鏈链條条規规則则標标準准級级選选舉举評评預预"
    "備备織织權权師师範范歡欢級级雖虽嗎吗呢呢囉啰啟启齊齐節节慶庆榮荣風风險险規规劃划"
    "奮奋鬥斗勵励獎奖懲惩億亿萬万歲岁隊队員员屬属歸归職职責责領领導导權权員员務务陣阵"
    "營营厲厉陳陈劉刘張张楊杨黃黄趙赵吳吴孫孙鄭郑馬马許许鄧邓馮冯韓韩曹曹蕭萧葉叶龐庞"
    "蘇苏盧卢蔣蒋賈贾謝谢錢钱羅罗鍾钟鄒邹閻阎溫温湯汤魯鲁顧顾龍龙鄺邝陸陆賴赖喬乔譚谭"
    "紅红軍军戰战勞劳動动護护師师鍊炼習习遲迟夠够並并麗丽葉叶氣气車车鐵铁門门閒闲雲云"
    "飯饭魚鱼鳥鸟語语讓让試试詳详細细導导據据請请銷销廢废僅仅屆届態态壇坛紐纽續续費费"
    "簡简歷历證证辭辞獲获團团圓圆園园驗验險险調调換换轉转執执擔担擴扩壯壮寬宽懷怀"
    "勢势標标頭头東东務务產产網网項项順顺須须頓顿預预領领頻频題题額额類类顯显願愿顧顾"
    "風风飛飞驅驱紹绍終终給给統统絲丝綜综緊紧維维網网緣缘編编練练縮缩總总績绩繳缴繼继"
    "續续議议讓让譽誉變变謀谋謂谓諸诸謹谨識识證证譯译護护讀读貢贡負负財财責责貨货質质"
    "購购貼贴費费賀贺資资賣卖賬账賽赛贊赞趕赶跡迹踐践農农運运遞递遠远適适選选遺遗還还"
    "鄰邻醫医釋释針针鋪铺錄录錢钱鍛锻鎖锁鏡镜長长門门閃闪閉闭開开閑闲間间閱阅關关陽阳"
    "隨随隱隐雜杂雞鸡離离難难電电靈灵靜静響响頁页頂顶項项順顺須须頒颁頗颇領领頭头頻频"
    "顆颗題题額额顏颜願愿類类顧顾顯显飄飘飲饮飽饱餘余館馆駐驻驗验體体髮发鬧闹魯鲁鮮鲜"
    "麥麦黨党齊齐齡龄龍龙龜龟週周衝冲裡里裏里臺台颱台鬆松帐账"
)
_T2S = str.maketrans({_T2S_PAIRS[i]: _T2S_PAIRS[i + 1] for i in range(0, len(_T2S_PAIRS), 2)})

_SURROGATES = re.compile(r"[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")
# Commands whose argument is a member: keep "@张伟" as the name "张伟".
_NAME_COMMAND = re.compile(r"^(?:补录|添加|新增|设为|设置为|设成|任命|取消|撤销|移除|把)")
# A trailing run of symbols, emoji and closing chatter punctuation; "?" is kept on purpose.
# WeCom/DingTalk send their built-in stickers as text codes: "[强]", "[OK]", "[微笑]".
_EMOJI_CODE = re.compile(r"\[[^\[\]\s]{1,4}\]")
_NOISE_CHARS = "!~。.,、;…—-・*^_+=|\\/`'\"“”‘’【】「」『』"


def _is_noise(ch: str) -> bool:
    if ch in _NOISE_CHARS or ch.isspace():
        return True
    cat = unicodedata.category(ch)
    # So/Sk/Sm/Mn/Cf cover emoji, modifiers, variation selectors and zero-width joiners.
    return cat in ("So", "Sk", "Sm", "Mn", "Me", "Cf", "Co", "Cn", "Cs")


def to_simplified(text: str) -> str:
    """Map the common traditional characters to simplified ones."""
    return text.translate(_T2S)


def clean(text: str) -> str:
    """Remove surrogates/control characters, apply NFKC and simplified script, collapse spaces."""
    text = _SURROGATES.sub("", text)
    chars = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            chars.append(" ")
        elif cat != "Cf":
            chars.append(ch)
    text = unicodedata.normalize("NFKC", "".join(chars))
    text = to_simplified(text)
    return _WHITESPACE.sub(" ", text).strip()


def strip_mentions(text: str) -> str:
    """Drop leading @-mentions; drop trailing ones too unless the command takes a member name."""
    tokens = text.split(" ")
    start = 0
    while start < len(tokens) and tokens[start].startswith("@"):
        start += 1
    tokens = tokens[start:]
    if tokens and _NAME_COMMAND.match(tokens[0]):
        return " ".join(tokens).replace("@", " ").strip()
    end = len(tokens)
    while end > 1 and tokens[end - 1].startswith("@"):
        end -= 1
    return " ".join(tokens[:end])


def strip_noise(text: str) -> str:
    """Strip trailing (and leading) emoji, WeCom codes like [强], exclamation marks and tildes."""
    end = len(text)
    while end > 0:
        if _is_noise(text[end - 1]):
            end -= 1
            continue
        if text[end - 1] != "]":
            break
        start = text.rfind("[", max(0, end - 6), end - 1)
        if start < 0 or not _EMOJI_CODE.fullmatch(text, start, end):
            break
        end = start
    start = 0
    while start < end and _is_noise(text[start]) and text[start] not in "+-":
        start += 1
    return text[start:end]


def normalize(text: str) -> str:
    """Full normalisation used by the classifier."""
    return _WHITESPACE.sub(" ", strip_noise(strip_mentions(clean(text)))).strip()
