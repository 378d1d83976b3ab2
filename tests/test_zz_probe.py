from tests.test_scenarios import citizen  # noqa
from tests.test_booking_chat import book_next_wednesday_930

def run(c, lines):
    for t in lines:
        print(">>", t); print(c.say(t)); print()

def test_probe_a(citizen):
    code = book_next_wednesday_930(citizen)
    run(citizen, ["我们那天有事去不成了", "1", "明天去不了了", "能不能推到下下周", "嗯", "我们的预约是几点来着", "那天要带么子东西", "户口本丢了怎么办", "谢谢你啦", "那我呢"])

def test_probe_b(citizen):
    run(citizen, ["娭毑问一下 孙子要结婚了 么子时候可以去扯证", "要得 帮他约", "岳麓区", "下个礼拜四", "上昼", "1"])
