// The simulator's chat window: each action goes to /simulator/send, which posts real signed
// WeChat XML to /wechat and returns the reply as a bubble or a news card.
"use strict";
(function () {
  const phone = document.getElementById("phone");
  const chat = document.getElementById("chat");
  const text = document.getElementById("text");

  function bubble(side, content) {
    const item = document.createElement("li");
    item.className = "msg " + side;
    const body = document.createElement("div");
    body.className = "bubble";
    body.textContent = content;
    item.appendChild(body);
    chat.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function card(reply) {
    const item = document.createElement("li");
    item.className = "msg bot";
    const link = document.createElement("a");
    link.className = "news";
    link.href = reply.url || "#";
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if (reply.image) {
      const image = document.createElement("img");
      image.src = reply.image;
      image.alt = "";
      link.appendChild(image);
    }
    const title = document.createElement("b");
    title.textContent = reply.title;
    const description = document.createElement("span");
    description.textContent = reply.description;
    link.append(title, description);
    item.appendChild(link);
    chat.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  async function send(kind, value, shown) {
    bubble("me", shown);
    let answer;
    try {
      const response = await fetch(phone.dataset.send, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": phone.dataset.csrf },
        body: JSON.stringify({ kind: kind, value: value }),
      });
      answer = await response.json();
    } catch (error) {
      answer = { error: "连接失败：" + error };
    }
    if (answer.error) {
      bubble("system", answer.error);
    } else if (!answer.reply) {
      bubble("system", "（公众号没有回复）");
    } else if (answer.reply.type === "news") {
      card(answer.reply);
    } else {
      bubble("bot", answer.reply.content);
    }
  }

  document.getElementById("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    text.value = "";
    send("text", value, value);
  });
  document.getElementById("menu").addEventListener("click", function (event) {
    const button = event.target.closest("button[data-key]");
    if (!button) return;
    button.closest("details").open = false;
    send("click", button.dataset.key, "［菜单］" + button.textContent);
  });
  document.getElementById("toggle-tools").addEventListener("click", function () {
    const tools = document.getElementById("tools");
    tools.hidden = !tools.hidden;
  });
  document.getElementById("send-location").addEventListener("click", function () {
    const city = document.getElementById("city").value;
    send("location", city, "［位置］湖南省" + city);
  });
  document.getElementById("send-scan").addEventListener("click", function () {
    const scene = document.getElementById("scene").value.trim();
    if (scene) send("scan", scene, "［扫码］" + scene);
  });
  // Only one sub-menu open at a time, as in WeChat.
  document.querySelectorAll("#menu details").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (!details.open) return;
      document.querySelectorAll("#menu details").forEach(function (other) {
        if (other !== details) other.open = false;
      });
    });
  });
})();
